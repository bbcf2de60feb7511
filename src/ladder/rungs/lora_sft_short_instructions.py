"""lora_sft_short_instructions: lora_sft trained (and asked) with a one-line task definition.

An ablation (Kung & Peng 2023): models tuned on simplified task definitions score about as
well as with the full ones, because tuning mostly learns the output space and format. The
short definition is the `definition` option, or else the first sentence of the task's
`prompts.instructions`; it goes into the system prompt after the task's own system prompt.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field

from ladder.rungs.base import RungContext, first_unmet
from ladder.rungs.finetune import train_sft_candidate
from ladder.rungs.lora_sft import LoraSFT
from ladder.rungs.prompt import ChatPrompt
from ladder.task import Task
from ladder.types import Candidate


def first_sentence(text: str) -> str:
    """The text up to the first sentence end (., ! or ? followed by white space), one line."""
    flat = " ".join(text.split())
    m = re.search(r"[.!?](\s|$)", flat)
    return flat[: m.start() + 1] if m else flat


class LoraSFTShortInstructions:
    name: ClassVar[str] = "lora_sft_short_instructions"
    kind: ClassVar[Literal["finetune"]] = "finetune"

    class Options(LoraSFT.Options):
        definition: str | None = Field(
            None, description="the simplified task definition; default: first sentence of prompts.instructions"
        )

    def requires(self, task: Task, options: Options) -> str | None:
        no_definition = None if options.definition or task.spec.prompts.instructions else (
            f"{self.name} needs `rungs.{self.name}.definition` or `prompts.instructions`")
        return first_unmet(LoraSFT.requires(self, task, options), no_definition)  # type: ignore[arg-type]

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        definition = options.definition
        if definition is None:
            if not ctx.task.spec.prompts.instructions:
                raise ValueError(f"{self.name} needs `rungs.{self.name}.definition` or `prompts.instructions`")
            definition = first_sentence(ctx.task.spec.prompts.instructions)
        prompt = ChatPrompt(system=ctx.task.spec.prompts.system, instructions=definition)
        return train_sft_candidate(self.name, ctx, options, prompt,
                                   description=f"short definition in the prompt: {definition!r}")
