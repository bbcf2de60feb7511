"""few_shot: k fixed demonstrations from the training split, shown as earlier chat turns.

Shows instead of tells. The demonstrations are drawn once with the task's seed, so every eval
example sees the same k (dynamic, per-input selection is a separate rung).
"""

from __future__ import annotations

import random
from typing import ClassVar, Literal

from pydantic import Field

from ladder.rungs.base import RungContext, RungOptions, needs_train
from ladder.rungs.prompt import ChatPrompt
from ladder.task import Task
from ladder.types import Candidate, Example


def static_demos(task: Task, k: int) -> tuple[Example, ...]:
    """The k demonstrations few_shot shows: drawn once from the training split with the task's seed."""
    return tuple(random.Random(task.spec.seed).sample(list(task.train), k))


class FewShot:
    name: ClassVar[str] = "few_shot"
    kind: ClassVar[Literal["prompt"]] = "prompt"
    prepares_without_calls: ClassVar[bool] = True  # the climb may prepare it ahead (first_looks.py)

    class Options(RungOptions):
        k: int = Field(3, gt=0, description="number of demonstrations")

    def requires(self, task: Task, options: Options) -> str | None:
        return needs_train(task, self.name, options.k)

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        train = ctx.task.train
        if len(train) < options.k:
            raise ValueError(f"few_shot needs {options.k} training examples, the task has {len(train)}")
        demos = static_demos(ctx.task, options.k)
        return Candidate(
            rung=self.name,
            kind=self.kind,
            prompt=ChatPrompt(system=ctx.task.spec.prompts.system, demos=demos),
            description=f"{options.k} static demonstrations from the training split",
        )
