"""lora_sft: a LoRA adapter trained on the training split, answering the zero-shot prompt.

Fine-tuning teaches behaviour and form (DESIGN.md), so the trained model should need none of
the instructed rung's long prompt. Adapters are content-addressed by (base weights, training
chats, config): an identical climb finds the finished adapter and does not train again.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import ClassVar, Literal

from pydantic import Field

from ladder.backends.base import unwrap
from ladder.backends.local import LocalBackend, load_model_and_tokenizer
from ladder.rungs.base import RungContext, RungOptions
from ladder.rungs.prompt import ChatPrompt
from ladder.tracking.costs import training_cost
from ladder.training.lora_sft import SFTConfig, cpu_has_fast_bf16, load_train_result, train_lora_sft
from ladder.types import BuildCost, Candidate, Message, chat_to_json, content_hash

TRAINER_VERSION = 1  # bump when a change to training would change the adapter it produces


class LoraSFT:
    name: ClassVar[str] = "lora_sft"
    kind: ClassVar[Literal["finetune"]] = "finetune"

    class Options(RungOptions):
        epochs: int = Field(2, gt=0)
        learning_rate: float = Field(1e-3, gt=0)
        rank: int = Field(16, gt=0, description="LoRA rank")
        alpha: int = Field(32, gt=0, description="LoRA alpha (scale = alpha / rank)")
        batch_size: int = Field(8, gt=0)
        max_length: int = Field(512, gt=0, description="tokens per training example, longer ones are cut")
        precision: Literal["auto", "float32", "bfloat16"] = Field(
            "auto", description="training matmul precision; auto = bfloat16 autocast where the CPU has AMX/AVX512-BF16"
        )

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        local = unwrap(ctx.backend)
        if not isinstance(local, LocalBackend):
            raise ValueError("lora_sft trains local weights: set `model.backend: local` in task.yaml")
        if not ctx.task.train:
            raise ValueError("lora_sft needs training examples: set `data.train` in task.yaml")
        prompt = ChatPrompt(system=ctx.task.spec.prompts.system)
        chats = [prompt.render(ex) + (Message("assistant", ex.expected),) for ex in ctx.task.train]
        config = SFTConfig(
            rank=options.rank,
            alpha=options.alpha,
            learning_rate=options.learning_rate,
            epochs=options.epochs,
            batch_size=options.batch_size,
            max_length=options.max_length,
            bf16=options.precision == "bfloat16" or (options.precision == "auto" and cpu_has_fast_bf16()),
            seed=ctx.task.spec.seed,
        )
        key = content_hash(
            TRAINER_VERSION, ctx.backend.fingerprint(), [chat_to_json(c) for c in chats], asdict(config)
        )
        adapter_dir = ctx.artifacts / "adapters" / f"{self.name}-{key[:16]}"
        result = load_train_result(adapter_dir)
        reused = result is not None
        if result is None:
            ctx.on_status(f"training LoRA on {len(chats)} examples x {config.epochs} epochs")
            model, tokenizer = load_model_and_tokenizer(local.name, local.dtype)
            result = train_lora_sft(model, tokenizer, chats, config, adapter_dir, on_step=ctx.on_train_step)
            del model
        return Candidate(
            rung=self.name,
            kind=self.kind,
            prompt=prompt,
            adapter=str(adapter_dir),
            build=BuildCost(
                seconds=result.seconds,
                money=training_cost(result.seconds, ctx.task.spec.prices.train_per_hour),
                train_tokens=result.train_tokens,
                reused=reused,
                notes=f"{result.steps} steps, final loss {result.final_loss:.4f}",
            ),
            description=f"LoRA r={config.rank} on {len(chats)} training chats, zero-shot prompt",
        )
