"""The LoRA training arguments, declared once: the trainers take them and the fine-tuning rungs'
options (`rungs.<name>:` in task.yaml) extend them, so each description is also the help text.

What is not a task option (dropout, warmup, the adapted modules) is a constant here; with the
arguments, the seed and the resolved precision it makes `run_settings`, which keys a run's
checkpoints and adapter and is recorded in its manifest.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ladder.hardware import bf16_pays
from ladder.training.early_stop import HeldoutMetric
from ladder.training.parallel import DEFAULT_LAUNCHER

LORA_DROPOUT = 0.0  # its RNG was ~20% of each step on CPU (docs/architecture.md, "Decisions")
WARMUP_RATIO = 0.1  # share of the steps with a linear learning-rate warmup
# the attention and MLP projections as Llama, Qwen, Mistral and Gemma name them
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def lora_targets(model: Any) -> list[str] | str:
    """The modules LoRA adapts in `model`: TARGET_MODULES when the model names its projections so
    (every model ladder ships), else PEFT's "all-linear" (every linear layer but the output head),
    so a causal LM that names them otherwise (GPT-2's c_attn, Phi-3's qkv_proj) is trained whole
    rather than on the few names that happen to match. Which one is decided by the model, whose
    weights key the adapter."""
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    return list(TARGET_MODULES) if set(TARGET_MODULES) <= names else "all-linear"

Precision = Literal["auto", "float32", "bfloat16"]
StopMeasure = Literal["target", "loss"]


class LoraArgs(BaseModel):
    """LoRA training: what every trainer (SFT, continued pre-training, DPO) takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(2, gt=0, description="passes over the training data")
    learning_rate: float = Field(1e-3, gt=0, description="peak AdamW learning rate (warmup, then cosine decay to 10%)")
    rank: int = Field(16, gt=0, description="LoRA rank")
    alpha: int = Field(32, gt=0, description="LoRA alpha (scale = alpha / rank)")
    batch_size: int = Field(8, gt=0, description="examples per optimizer step")
    max_length: int = Field(512, gt=0, description="tokens per training example, longer ones are cut")
    early_stop_patience: int = Field(
        2, ge=0, description="held-out evaluations in a row without improvement before training stops and keeps the"
        " best weights (training/early_stop.py); 0 = train every epoch")
    early_stop_measure: StopMeasure = Field(
        "target", description="what the held-out items are scored by: target = the task's target metric, each answered"
        " greedily and checked by the task's checks (where checks alone do not score the target, e.g. a judge does,"
        " or the trainer has no target, as continued pre-training and DPO, it trains every epoch); loss = their"
        " answer loss")
    holdout_fraction: float = Field(
        0.1, gt=0, lt=0.5, description="share of the training items held out to decide the early stop"
        " (never the eval split)")
    early_stop_every: int = Field(0, ge=0, description="training steps between held-out evaluations; 0 = twice per epoch")
    processes: int = Field(
        1, gt=0, description="data-parallel training processes (training/parallel.py): above 1, `launcher` starts"
        " them, each trains on its share of every batch and the gradients are averaged; the adapter is keyed on it")
    launcher: str = Field(
        DEFAULT_LAUNCHER, min_length=1, description="the command that starts the training processes, {processes}"
        " and {python} filled in, `-m ladder.training.worker JOB` appended; on a GPU box e.g. `accelerate launch"
        " --multi_gpu --num_processes {processes}` (SFT and continued pre-training; DPO trains in one process)")
    precision: Precision = Field(
        "auto", description="training matmul precision; auto = bfloat16 autocast where this CPU has AMX/AVX512-BF16 and a bf16 matmul measured faster than fp32 (ladder.hardware.bf16_pays)"
    )

    @property
    def bf16(self) -> bool:
        """Train with bf16 frozen weights and autocast (the LoRA weights stay float32)."""
        return self.precision == "bfloat16" or (self.precision == "auto" and bf16_pays())


EARLY_STOP_FIELDS = {"early_stop_patience", "early_stop_measure", "holdout_fraction", "early_stop_every"}


def stop_measure(args: LoraArgs, metric: HeldoutMetric | None) -> str | None:
    """What this run's early stop goes by: the metric's key (its name and everything besides the
    model that decides its scores), "loss", or None where it trains every epoch."""
    if not args.early_stop_patience:
        return None
    if args.early_stop_measure == "loss":
        return "loss"
    return metric.key if metric is not None else None


class DpoArgs(LoraArgs):
    """DPO's arguments: LoRA training plus the preference loss's own."""

    learning_rate: float = Field(5e-4, gt=0, description="peak AdamW learning rate (warmup, then cosine decay to 10%)")
    beta: float = Field(0.1, gt=0, description="DPO temperature: how far the policy may move from the reference")
    nll_weight: float = Field(
        1.0, ge=0, description="weight of the chosen answers' next-token loss added to DPO's (RPO); 0 = pure DPO")

    @field_validator("processes")
    @classmethod
    def _one_process(cls, value: int) -> int:
        if value != 1:
            raise ValueError("DPO trains in one process (data-parallel training covers SFT and continued pre-training)")
        return value


def run_settings(args: LoraArgs, seed: int, metric: HeldoutMetric | None = None) -> dict[str, Any]:
    """Everything besides the data that decides the trained weights, with precision and the early
    stop resolved (`metric`: what a target-metric early stop would score held-out items with).

    Every LoraArgs field (so one added later is keyed too), but not a subclass's extras such as
    DPO's beta, which its trainer keys with the data: the same dict, and so the same hash, as
    the adapters and checkpoints saved before LoraArgs existed, so an identical climb still
    finds them."""
    # the early-stop fields decide nothing while no early stop runs, nor `processes` at 1:
    # leaving them out then keeps the keys of every adapter trained before they existed
    measure = stop_measure(args, metric)
    unkeyed = ({"precision", "launcher"} | EARLY_STOP_FIELDS
               | ({"processes"} if args.processes == 1 else set()))
    lora = args.model_dump(include=set(LoraArgs.model_fields) - unkeyed)
    if measure is not None:
        lora |= {"early_stop_patience": args.early_stop_patience, "early_stop_measure": measure,
                 "holdout_fraction": args.holdout_fraction, "early_stop_every": args.early_stop_every}
    return {**lora, "dropout": LORA_DROPOUT, "warmup_ratio": WARMUP_RATIO, "target_modules": list(TARGET_MODULES),
            "bf16": args.bf16, "seed": seed}
