"""lora_sft: a LoRA adapter trained on the training split, answering the zero-shot prompt.

Fine-tuning teaches behaviour and form (DESIGN.md), so the trained model should need none of
the instructed rung's long prompt. Adapters are content-addressed by (base weights, training
data, config): an identical climb finds the finished adapter and does not train again, and an
interrupted one (Ctrl+C, kill -9) resumes from the newest complete checkpoint, which lives
beside that same folder. The helpers below are shared by every rung that trains.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal, Sequence

from pydantic import Field

from ladder.backends.base import unwrap
from ladder.backends.local import LocalBackend, load_model_and_tokenizer
from ladder.rungs.base import RungContext, RungOptions
from ladder.rungs.prompt import ChatPrompt
from ladder.tracking.costs import training_cost
from ladder.hardware import cpu_has_fast_bf16
from ladder.training.lora_sft import SFTConfig, TrainResult, load_train_result, train_lora_sft
from ladder.types import BuildCost, Candidate, Chat, Example, Message, Prompt, chat_to_json, content_hash

TRAINER_VERSION = 2  # bump when a change to training would change the adapter it produces

Trainer = Callable[[Any, Any, Path], TrainResult]  # (model, tokenizer, out_dir) -> result


def local_backend(ctx: RungContext, rung: str) -> LocalBackend:
    local = unwrap(ctx.backend)
    if not isinstance(local, LocalBackend):
        raise ValueError(f"{rung} trains local weights: set `model.backend: local` in task.yaml")
    return local


def sft_config(options: Any, seed: int) -> SFTConfig:
    return SFTConfig(
        rank=options.rank, alpha=options.alpha, learning_rate=options.learning_rate, epochs=options.epochs,
        batch_size=options.batch_size, max_length=options.max_length, seed=seed,
        bf16=options.precision == "bfloat16" or (options.precision == "auto" and cpu_has_fast_bf16()),
    )


def train_or_reuse(ctx: RungContext, rung: str, key_parts: tuple[Any, ...], trainer: Trainer,
                   status: str) -> tuple[Path, TrainResult, bool]:
    """The adapter for these inputs: reused when finished, resumed when interrupted, else trained.

    `key_parts` must capture everything that changes the adapter (data, config, kind)."""
    local = local_backend(ctx, rung)
    key = content_hash(TRAINER_VERSION, ctx.backend.fingerprint(), *key_parts)
    adapter_dir = ctx.artifacts / "adapters" / f"{rung}-{key[:16]}"
    result = load_train_result(adapter_dir)
    if result is not None:
        return adapter_dir, result, True
    ctx.on_status(status)
    model, tokenizer = load_model_and_tokenizer(local.name, local.dtype)
    result = trainer(model, tokenizer, adapter_dir)
    if result.resumed_from:
        ctx.on_status(f"resumed from the checkpoint at step {result.resumed_from}")
    return adapter_dir, result, False


def answer_chats(prompt: Prompt, examples: Sequence[Example], answers: Sequence[str] | None = None) -> list[Chat]:
    """Training chats: each example under `prompt`, answered by its reference (or `answers`)."""
    answers = answers if answers is not None else [ex.expected for ex in examples]
    return [prompt.render(ex) + (Message("assistant", a),) for ex, a in zip(examples, answers)]


def finetune_candidate(rung: str, ctx: RungContext, prompt: Prompt, adapter_dir: Path, result: TrainResult,
                       reused: bool, description: str, extra_money: float = 0.0, extra_seconds: float = 0.0,
                       notes: str = "") -> Candidate:
    return Candidate(
        rung=rung,
        kind="finetune",
        prompt=prompt,
        adapter=str(adapter_dir),
        build=BuildCost(
            seconds=result.seconds + extra_seconds,
            money=training_cost(result.seconds, ctx.task.spec.prices.train_per_hour) + extra_money,
            train_tokens=result.train_tokens,
            reused=reused,
            notes=f"{result.steps} steps, final loss {result.final_loss:.4f}, {result.tokens_per_s:.0f} train tok/s"
                  + (f", MFU {100 * result.mfu:.1f}%" if result.mfu is not None else "")
                  + (f"; {notes}" if notes else ""),
        ),
        description=description,
    )


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
        return train_sft_candidate(self.name, ctx, options, ChatPrompt(system=ctx.task.spec.prompts.system))


def train_sft_candidate(rung: str, ctx: RungContext, options: Any, prompt: Prompt,
                        answers: Sequence[str] | None = None, description: str = "zero-shot prompt",
                        extra_money: float = 0.0, extra_seconds: float = 0.0, notes: str = "",
                        examples: Sequence[Example] | None = None) -> Candidate:
    """LoRA SFT on the training split (or `examples`) under `prompt`; the Candidate answers under it too."""
    local_backend(ctx, rung)
    examples = ctx.task.train if examples is None else examples
    if not examples:
        raise ValueError(f"{rung} needs training examples: set `data.train` in task.yaml")
    chats = answer_chats(prompt, examples, answers)
    config = sft_config(options, ctx.task.spec.seed)
    adapter_dir, result, reused = train_or_reuse(
        ctx, rung, ([chat_to_json(c) for c in chats], asdict(config)),
        lambda model, tok, out: train_lora_sft(model, tok, chats, config, out, on_step=ctx.on_train_step),
        f"training LoRA on {len(chats)} examples x {config.epochs} epochs",
    )
    return finetune_candidate(
        rung, ctx, prompt, adapter_dir, result, reused,
        f"LoRA r={config.rank} on {len(chats)} training chats, {description}",
        extra_money=extra_money, extra_seconds=extra_seconds, notes=notes,
    )
