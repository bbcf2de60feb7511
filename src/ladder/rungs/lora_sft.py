"""lora_sft: a LoRA adapter trained on the training split, answering the zero-shot prompt.

Fine-tuning teaches behaviour and form (docs/architecture.md, "Decisions"), so the trained model should need none of
the instructed rung's long prompt. Training, adapter reuse and resume are the fine-tuning
rungs' shared helpers (rungs/finetune.py).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from ladder.rungs.base import RungContext, RungOptions, first_unmet, needs_local_model, needs_train
from ladder.rungs.finetune import train_sft_candidate
from ladder.rungs.prompt import ChatPrompt
from ladder.task import Task
from ladder.training.args import LoraArgs
from ladder.types import Candidate


class LoraSFT:
    name: ClassVar[str] = "lora_sft"
    kind: ClassVar[Literal["finetune"]] = "finetune"

    class Options(RungOptions, LoraArgs):
        """The LoRA training arguments (training/args.py), as task options."""

    def requires(self, task: Task, options: Options) -> str | None:
        return first_unmet(needs_local_model(task, self.name), needs_train(task, self.name))

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        return train_sft_candidate(self.name, ctx, options, ChatPrompt(system=ctx.task.spec.prompts.system))
