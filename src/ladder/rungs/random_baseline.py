"""random_baseline: each eval example answered with a random member of the task's output space.

The random baseline of Kung & Peng (2023): a label drawn from the training label distribution,
in the answers' own form, with the task's seed. No model is called (the Candidate carries its
answers: zero tokens, zero latency, nothing cached), so every report shows what knowing only
the output space is worth. It applies only where the output space is finite and known: declared
(`output_space` option) or the training answers forming a small set of labels
(ladder.task.output_space); elsewhere it is left out of the default climb, and refused with the
reason when asked for.
"""

from __future__ import annotations

import random
from typing import ClassVar, Literal

from pydantic import Field

from ladder.rungs.base import RungContext, RungOptions
from ladder.rungs.prompt import ChatPrompt
from ladder.task import Task
from ladder.task.output_space import OutputSpace, output_space
from ladder.types import Candidate

NOT_FINITE = "the task's answers are free-form (no small set of labels in the training answers, no `output_space`)"


class RandomBaseline:
    name: ClassVar[str] = "random_baseline"
    kind: ClassVar[Literal["baseline"]] = "baseline"

    class Options(RungOptions):
        output_space: list[str] | None = Field(
            None, description="the allowed answers, drawn uniformly; default: the training answers when they form "
                              "a small set, drawn in proportion to their training frequency")

    def requires(self, task: Task, options: Options) -> str | None:
        """Why this rung cannot run on `task`: a free-form answer has no output space to draw from."""
        return NOT_FINITE if output_space(task, options.output_space) is None else None

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        space: OutputSpace | None = output_space(ctx.task, options.output_space)
        if space is None:
            raise ValueError(f"{self.name} needs a finite output space: {NOT_FINITE}")
        rng = random.Random(ctx.task.spec.seed)
        answers = {ex.id: space.draw(rng) for ex in ctx.task.eval}
        return Candidate(
            rung=self.name,
            kind=self.kind,
            prompt=ChatPrompt(system=ctx.task.spec.prompts.system),
            answers=answers,
            description=f"a random one of {len(space.labels)} labels per example, by training frequency "
                        "(no model call)",
        )
