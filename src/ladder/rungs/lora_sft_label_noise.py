"""lora_sft_label_noise: lora_sft trained on noisy targets: a fraction of the training answers
replaced by wrong ones.

A robustness probe, not Kung & Peng's (2023) experiment: they altered the instructions and kept
the targets correct (see lora_sft_short_instructions and lora_sft_wrong_demos); this rung keeps
the prompt and corrupts the targets, so it measures how much a fine-tune learns from wrong
answers. Each replaced answer is the reference of another training example with a different
answer, so it has the right form and the wrong content: a drop in knowledge with the form kept
means the fine-tune learned the content from its targets, not only their format.
"""

from __future__ import annotations

import random
from typing import ClassVar, Literal, Sequence

from pydantic import Field

from ladder.rungs.base import RungContext
from ladder.rungs.finetune import train_sft_candidate
from ladder.rungs.lora_sft import LoraSFT, TrainOptions
from ladder.rungs.prompt import ChatPrompt
from ladder.task.output_space import other_answer
from ladder.types import Candidate, Example


def noisy_answers(examples: Sequence[Example], fraction: float, seed: int) -> tuple[list[str], int]:
    """References with round(fraction x n) of them swapped for another example's (different) answer.

    Returns (answers, how many were replaced); an example whose answer every other one shares
    cannot be made wrong this way and is left as it is."""
    rng = random.Random(seed)
    answers = [ex.expected for ex in examples]
    chosen = rng.sample(range(len(examples)), round(fraction * len(examples)))
    replaced = 0
    references = [ex.expected for ex in examples]
    for i in sorted(chosen):
        wrong = other_answer(references[i], references, rng)
        if wrong is not None:
            answers[i] = wrong
            replaced += 1
    return answers, replaced


class LoraSFTLabelNoise:
    name: ClassVar[str] = "lora_sft_label_noise"
    kind: ClassVar[Literal["finetune"]] = "finetune"

    class Options(TrainOptions):
        fraction: float = Field(0.5, ge=0, le=1, description="share of training answers replaced by wrong ones")

    requires = LoraSFT.requires  # local weights and training examples

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        answers, replaced = noisy_answers(ctx.task.train, options.fraction, ctx.task.spec.seed)
        return train_sft_candidate(
            self.name, ctx, options, ChatPrompt(system=ctx.task.spec.prompts.system), answers=answers,
            description=f"zero-shot prompt; {replaced} of {len(answers)} training answers wrong (noisy targets)",
            notes=f"{replaced} wrong labels",
        )
