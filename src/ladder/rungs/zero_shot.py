"""zero_shot: the user's input as it is, under the task's system prompt (if any).

The cheapest rung and the baseline every other rung is measured against.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from ladder.rungs.base import RungContext, RungOptions
from ladder.rungs.prompt import ChatPrompt
from ladder.types import Candidate


class ZeroShot:
    name: ClassVar[str] = "zero_shot"
    kind: ClassVar[Literal["prompt"]] = "prompt"
    prepares_without_calls: ClassVar[bool] = True  # the climb may prepare it ahead (first_looks.py)

    class Options(RungOptions):
        pass

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        return Candidate(
            rung=self.name,
            kind=self.kind,
            prompt=ChatPrompt(system=ctx.task.spec.prompts.system),
            description="the input alone, no instructions or examples",
        )
