"""instructed: the task's instructions and output format spelled out in the system prompt.

Tells the model what to do instead of showing it; costs prompt tokens on every request.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from ladder.rungs.base import RungContext, RungOptions, needs_instructions
from ladder.task import Task
from ladder.rungs.prompt import ChatPrompt
from ladder.types import Candidate


class Instructed:
    name: ClassVar[str] = "instructed"
    kind: ClassVar[Literal["prompt"]] = "prompt"
    prepares_without_calls: ClassVar[bool] = True  # the climb may prepare it ahead (first_looks.py)

    class Options(RungOptions):
        pass

    def requires(self, task: Task, options: Options) -> str | None:
        return needs_instructions(task, self.name)

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        instructions = ctx.task.spec.prompts.instructions
        if not instructions:
            raise ValueError("the instructed rung needs `prompts.instructions` in task.yaml")
        return Candidate(
            rung=self.name,
            kind=self.kind,
            prompt=ChatPrompt(system=ctx.task.spec.prompts.system, instructions=instructions),
            description="system prompt + detailed task instructions and output format",
        )
