"""lora_sft_short_instructions: lora_sft trained (and asked) with a definition that keeps only
the task's output space.

The "simplified task definition" ablation of Kung & Peng (2023): every semantic component of
the instructions is removed and only the output space stays (the label options, the output
format). The definition, which goes into the system prompt after the task's own system prompt, is:

1. the `definition` option, when given;
2. else the label options, when the output space is finite (`output_space` option, or the
   training answers when they form a small set of labels: ladder.task.output_space);
3. else, for a free-form task, a format-only definition: the sentences of
   `prompts.instructions` that speak of the answer's form (answer, reply, respond, output,
   format, JSON). They may still carry some of the task's meaning (a format line that names a
   formula), so a free-form task that wants the paper's ablation exactly should set `definition`.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field

from ladder.rungs.base import RungContext, first_unmet
from ladder.rungs.finetune import train_sft_candidate
from ladder.rungs.lora_sft import LoraSFT, TrainOptions
from ladder.rungs.prompt import ChatPrompt
from ladder.task import Task
from ladder.task.output_space import output_space
from ladder.types import Candidate

FORMAT_WORDS = re.compile(r"\b(answer|reply|respond|output|format|json)\b", re.IGNORECASE)


def format_sentences(text: str) -> str:
    """The sentences of `text` that speak of the answer's form, on one line ("" if none)."""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    return " ".join(s for s in sentences if FORMAT_WORDS.search(s))


class LoraSFTShortInstructions:
    name: ClassVar[str] = "lora_sft_short_instructions"
    kind: ClassVar[Literal["finetune"]] = "finetune"

    class Options(TrainOptions):
        definition: str | None = Field(
            None, description="the simplified task definition; default: the label options, or for a free-form "
                              "task the sentences of prompts.instructions about the answer's form")
        output_space: list[str] | None = Field(
            None, description="the allowed answers; default: the training answers when they form a small set")

    def definition(self, ctx: RungContext, options: Options) -> tuple[str, str]:
        """(the definition, where it came from)."""
        if options.definition is not None:
            return options.definition, "the definition option"
        space = output_space(ctx.task, options.output_space)
        if space is not None:
            return space.definition(), f"the {len(space.labels)} label options"
        kept = format_sentences(ctx.task.spec.prompts.instructions or "")
        if not kept:
            raise ValueError(f"{self.name}: the answers are free-form and no sentence of `prompts.instructions` "
                             f"states their format; set `rungs.{self.name}.definition`")
        return kept, "the instructions' output-format sentences"

    def requires(self, task: Task, options: Options) -> str | None:
        no_definition = None if options.definition or task.spec.prompts.instructions else (
            f"{self.name} needs `rungs.{self.name}.definition` or `prompts.instructions`")
        return first_unmet(LoraSFT.requires(self, task, options), no_definition)  # type: ignore[arg-type]

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        definition, source = self.definition(ctx, options)
        prompt = ChatPrompt(system=ctx.task.spec.prompts.system, instructions=definition)
        return train_sft_candidate(self.name, ctx, options, prompt,
                                   description=f"definition reduced to the output space ({source}) (ablation)")
