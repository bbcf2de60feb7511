"""terse: the zero-shot prompt with a system prompt asking for a short answer."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ladder.rungs.base import RungContext, RungOptions
from ladder.rungs.prompt import ChatPrompt
from ladder.types import Candidate


class Terse:
    name: ClassVar[str] = "terse"
    kind: ClassVar[Literal["prompt"]] = "prompt"

    class Options(RungOptions):
        words: int = Field(3, gt=0, description="most words the answer should have")

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        return Candidate(rung=self.name, kind=self.kind,
                         prompt=ChatPrompt(system=f"Answer in at most {options.words} words."),
                         description=f"asks for at most {options.words} words")
