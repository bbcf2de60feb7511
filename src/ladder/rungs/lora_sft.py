"""lora_sft: a LoRA adapter trained on the training split, asked under the zero-shot prompt (or
another: `prompt:`).

Fine-tuning teaches behaviour and form (docs/architecture.md, "Decisions"), so the trained model
should need none of the instructed rung's long prompt. Whether demonstrations or retrieved
context still add to the adapter is measured with `prompt: [zero_shot, few_shot, rag]`: one row
per kind (`lora_sft`, `lora_sft(few_shot)`, `lora_sft(rag)`), each trained under the prompt it
is asked with (rungs/asking.py). Training, adapter reuse and resume are the fine-tuning rungs'
shared helpers (rungs/finetune.py).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from ladder.rungs.asking import AskOptions, PromptKind, asking, needs_for_prompt
from ladder.rungs.base import RungContext, RungOptions, first_unmet, needs_local_model, needs_train
from ladder.rungs.finetune import answer_chats, finetune_candidate, local_backend, train_sft
from ladder.task import Task
from ladder.training.args import LoraArgs
from ladder.types import Candidate


class TrainOptions(RungOptions, LoraArgs):
    """The LoRA training arguments (training/args.py), as task options: what every rung that
    trains an adapter takes."""


class LoraSFT:
    name: ClassVar[str] = "lora_sft"
    kind: ClassVar[Literal["finetune"]] = "finetune"

    class Options(TrainOptions, AskOptions):
        """The LoRA training arguments, and the prompt the adapter answers (and trains) under."""

    def row_name(self, kind: PromptKind) -> str:
        return self.name if kind == "zero_shot" else f"{self.name}({kind})"

    def variants(self, options: Options) -> list[tuple[str, Options]]:
        return [(self.row_name(kind), options.model_copy(update={"prompt": kind})) for kind in options.kinds()]

    def requires(self, task: Task, options: Any) -> str | None:
        return first_unmet(needs_local_model(task, self.name), needs_train(task, self.name),
                           needs_for_prompt(task, self.name, options) if isinstance(options, AskOptions) else None)

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        kind = options.kinds()[0]  # one kind per row (variants); called directly, the first
        name = self.row_name(kind)
        local_backend(ctx, name)
        if not ctx.task.train:
            raise ValueError(f"{name} needs training examples: set `data.train` in task.yaml")
        asked = asking(ctx, kind, options)
        chats = answer_chats(asked.train_prompt, ctx.task.train)
        # the zero-shot row keeps the rung's own name in the adapter key: adapters trained before
        # `prompt:` existed are found again
        adapter_dir, result, reused = train_sft(
            ctx, name, options, chats, ctx.task.train,
            f"training LoRA on {len(chats)} examples x {options.epochs} epochs")
        return finetune_candidate(
            name, ctx, asked.prompt, adapter_dir, result, reused,
            f"LoRA r={options.rank} on {len(chats)} training chats, asked under {asked.description}",
            extra=asked.build, notes=asked.build.notes, retrievals=asked.retrievals,
        )
