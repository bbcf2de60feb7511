"""The LoRA training loop every trainer shares (SFT, continued pre-training, DPO), with resume.

A trainer supplies items (their lengths, for length-sorted batches) and a loss function over a
batch of item indices; the loop owns the adapter, the optimizer (AdamW), the schedule (linear
warmup, cosine decay to 10%), checkpoints and the final save.

Resume: the order of every batch of every epoch is fixed up front from the seed, so "where we
are in the data" is just the step number. Every `checkpoint_every` steps the loop saves the
adapter weights, the optimizer and scheduler states, the torch RNG state, the step and the
losses/learning rates so far (training/checkpoint.py). Called again with the same config, data
and out_dir, it continues from the newest complete checkpoint and ends with the same adapter
as an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ladder.fsutil import publish_dir, staging_dir
from ladder.training import checkpoint
from ladder.training.early_stop import HeldoutMetric, plan_early_stop
from ladder.training.args import LORA_DROPOUT, WARMUP_RATIO, LoraArgs, lora_targets, run_settings, stop_measure
from ladder.training.parallel import current_group
from ladder.hardware import matmul_peaks
from ladder.training.throughput import lora_step_flops, lora_weight_counts, mfu
from ladder.types import content_hash

IGNORE = -100  # label value the loss skips
CHECKPOINT_SECONDS = 60.0  # default checkpoint interval, in seconds of training


@dataclass(frozen=True)
class TrainResult:
    adapter_dir: Path
    seconds: float  # training wall-clock, summed over every session of a resumed run
    train_tokens: int  # tokens processed (no padding), summed over epochs
    steps: int
    losses: tuple[float, ...] = field(default_factory=tuple)
    lrs: tuple[float, ...] = field(default_factory=tuple)  # learning rate used at each step
    resumed_from: int = 0  # step of the checkpoint this session started from (0 = fresh)
    mfu: float | None = None  # model FLOPs utilisation (training/throughput.py); None if unknown
    early_stop: dict[str, Any] | None = None  # EarlyStop.record(): held-out curve, best and stop step
    planned_steps: int | None = None  # the steps the epochs would take; None: not recorded (older adapters)

    @property
    def tokens_per_s(self) -> float:
        return self.train_tokens / self.seconds if self.seconds > 0 else 0.0

    @property
    def final_loss(self) -> float:
        tail = self.losses[-max(1, len(self.losses) // 10) :]
        return sum(tail) / len(tail) if tail else math.nan


StepFn = Callable[[int, int, float], None]  # (step, total steps, loss)
LossFn = Callable[[Any, list[int]], tuple[Any, int]]  # (peft model, item indices) -> (loss, tokens)


def checkpoint_root(out_dir: Path) -> Path:
    """Where the checkpoints of the adapter that will land in `out_dir` live meanwhile."""
    out_dir = Path(out_dir)
    return out_dir.parent / f".{out_dir.name}.checkpoints"


def batch_plan(lengths: Sequence[int], batch_size: int, epochs: int, seed: int) -> list[list[int]]:
    """Item indices of every step: grouped by similar length, batch order shuffled each epoch."""
    rng = random.Random(seed)
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    plan = []
    for _ in range(epochs):
        epoch = [list(b) for b in batches]
        rng.shuffle(epoch)
        plan += epoch
    return plan


def _lr_lambda(total: int, warmup: int) -> Callable[[int], float]:
    def lr_at(step: int) -> float:  # linear warmup, then cosine decay to 10%
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    return lr_at


def _due(every: int | None, step: int, since_last: float) -> bool:
    if every is None:
        return since_last >= CHECKPOINT_SECONDS
    return every > 0 and step % every == 0


def _state_tensors(params: dict[str, Any], optimizer: Any) -> dict[str, Any]:
    import torch

    tensors = {f"param.{n}": p for n, p in params.items()}
    for i, st in optimizer.state_dict()["state"].items():
        for name, value in st.items():
            tensors[f"optim.{i}.{name}"] = value if torch.is_tensor(value) else torch.tensor(value)
    tensors["rng.torch"] = torch.get_rng_state()
    return tensors


def _restore(tensors: dict[str, Any], state: dict[str, Any], params: dict[str, Any],
             optimizer: Any, scheduler: Any) -> None:
    import torch

    with torch.no_grad():
        for n, p in params.items():
            p.copy_(tensors[f"param.{n}"])
    opt_state: dict[int, dict[str, Any]] = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, i, name = k.split(".", 2)
            opt_state.setdefault(int(i), {})[name] = v
    optimizer.load_state_dict({"state": opt_state, "param_groups": state["optimizer_groups"]})
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(tensors["rng.torch"])


def train_lora(
    model: Any,
    args: LoraArgs,
    out_dir: Path,
    lengths: Sequence[int],
    loss_fn: LossFn,
    data_key: str,
    *,
    seed: int,
    on_step: StepFn | None = None,
    checkpoint_every: int | None = None,
    init_adapter: Path | None = None,
    manifest_extra: dict[str, Any] | None = None,
    heldout_metric: HeldoutMetric | None = None,
) -> TrainResult:
    """Train a LoRA adapter on `model` and save it atomically to `out_dir`.

    `data_key` identifies the training data (a hash); with `run_settings(args, seed)` it decides
    which checkpoints belong to this run. `checkpoint_every`: a checkpoint every N steps; None = one
    after every CHECKPOINT_SECONDS of training (so a kill loses at most that much); 0 = none.
    `init_adapter` starts from an earlier adapter's weights (e.g. SFT after CPT).
    `heldout_metric`: the target metric an early stop with `early_stop_measure: target` goes by
    (training/early_stop.py); without one, such a run trains every epoch.
    """
    import torch

    if not lengths:
        raise ValueError("no training examples")
    out_dir = Path(out_dir)
    targets = lora_targets(model)
    # what this model's adapter really adapts: the constant list, or "all-linear" for a model that
    # names its projections otherwise (it keys checkpoints and goes into the manifest)
    settings = {**run_settings(args, seed, heldout_metric), "target_modules": targets}
    bf16 = settings["bf16"]
    group = current_group()  # None unless started as one of several processes (training/parallel.py)
    lead = group is None or group.rank == 0  # the process that writes checkpoints and the adapter
    torch.manual_seed(seed)
    measure = stop_measure(args, heldout_metric)  # None: every epoch (off, or no metric to stop on)
    items, stopper = plan_early_stop(len(lengths), args.batch_size, args.early_stop_patience if measure else 0,
                                     args.holdout_fraction, args.early_stop_every, seed,
                                     None if measure == "loss" else heldout_metric)
    plan = [[items[j] for j in batch]
            for batch in batch_plan([lengths[i] for i in items], args.batch_size, args.epochs, seed)]
    peft_model = _adapted(model, args, targets, bf16, init_adapter)
    params = {n: p for n, p in peft_model.named_parameters() if p.requires_grad}
    optimizer = torch.optim.AdamW(list(params.values()), lr=args.learning_rate, weight_decay=0.0)
    total = len(plan)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(total, max(1, int(total * WARMUP_RATIO))))

    init_hash = checkpoint._sha256(Path(init_adapter) / "adapter_model.safetensors") if init_adapter else None
    key = content_hash(settings, data_key, init_hash)
    root = checkpoint_root(out_dir)
    losses: list[float] = []
    lrs: list[float] = []
    tokens, start, before = 0, 0, 0.0
    found = checkpoint.load_latest(root, key)
    if found is not None:
        start, tensors, state = found
        _restore(tensors, state, params, optimizer, scheduler)
        losses, lrs, tokens, before = state["losses"], state["lrs"], state["tokens"], state["seconds"]
        if stopper is not None:
            stopper.load(tensors, state["early_stop"])

    t0 = last_save = time.perf_counter()
    for step in range(start, total):
        lrs.append(scheduler.get_last_lr()[0])
        batch = plan[step] if group is None else group.share(plan[step])
        loss_value, n_tokens = 0.0, 0
        if batch:  # a process's share of a batch smaller than the group can be empty
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss, n_tokens = loss_fn(peft_model, batch)
            if group is not None:
                loss = loss * group.loss_weight(len(batch), len(plan[step]))
            loss.backward()
            loss_value = float(loss.detach())
        if group is not None:
            group.average_gradients(list(params.values()))
            loss_value = group.mean(loss_value)
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss_value)
        tokens += n_tokens
        if on_step:
            on_step(step + 1, total, losses[-1])
        if stopper is not None and stopper.due(step + 1, total):
            if stopper.observe(step + 1, stopper.evaluate(peft_model, loss_fn, bf16), params):
                break
        if lead and step + 1 < total and _due(checkpoint_every, step + 1, time.perf_counter() - last_save):
            last_save = time.perf_counter()
            _save_checkpoint(root, key, step + 1, params, optimizer, scheduler, stopper, {
                "losses": losses, "lrs": lrs, "tokens": tokens, "seconds": before + time.perf_counter() - t0})
    seconds = before + time.perf_counter() - t0
    if stopper is not None:
        stopper.restore_best(params)  # the best held-out evaluation's weights, not the last step's
    if group is not None:
        tokens = group.total(tokens)
        if not lead:  # rank 0 saves; the others wait for the adapter and report what it says
            group.barrier()
            return load_train_result(out_dir)  # type: ignore[return-value]
    peft_model.eval()
    utilisation, peak = _utilisation(peft_model, tokens, seconds, bf16)
    manifest = {"config": settings, "seconds": seconds, "train_tokens": tokens, "steps": len(losses),
                "planned_steps": total, "early_stop": stopper.record() if stopper is not None else None,
                "losses": losses, "lrs": lrs, "resumed_from": start, "examples": len(lengths),
                "tokens_per_s": tokens / seconds if seconds > 0 else 0.0, "mfu": utilisation,
                "peak_matmul_flops": peak, "processes": 1 if group is None else group.world,
                **(manifest_extra or {})}
    _publish(peft_model, out_dir, manifest)
    checkpoint.clear(root)
    if group is not None:
        group.barrier()  # the adapter is in place: the other processes may read it
    return TrainResult(adapter_dir=out_dir, seconds=seconds, train_tokens=tokens, steps=len(losses),
                       losses=tuple(losses), lrs=tuple(lrs), resumed_from=start, mfu=utilisation,
                       early_stop=manifest["early_stop"], planned_steps=total)


def _adapted(model: Any, args: LoraArgs, targets: Any, bf16: bool, init_adapter: Path | None) -> Any:
    """`model` wrapped with a fresh LoRA adapter (or `init_adapter`'s weights), in training mode:
    the base in bfloat16 where `bf16`, the adapter always in float32."""
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file

    if bf16:
        model.to(torch.bfloat16)
        model.set_attn_implementation("eager")
    peft_model = get_peft_model(
        model,
        LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=LORA_DROPOUT,
                   target_modules=targets, task_type="CAUSAL_LM"),
    )
    for p in peft_model.parameters():
        if p.requires_grad:
            p.data = p.data.float()  # fp32 adapter and optimizer state, whatever the base dtype
    if init_adapter is not None:
        set_peft_model_state_dict(peft_model, load_file(str(Path(init_adapter) / "adapter_model.safetensors")))
    peft_model.train()
    return peft_model


def _save_checkpoint(root: Path, key: str, step: int, params: dict[str, Any], optimizer: Any, scheduler: Any,
                     stopper: Any, progress: dict[str, Any]) -> None:
    """Everything a resumed run needs to continue from `step` as if never stopped: the adapter,
    optimizer, scheduler and RNG states, the early stop's, and `progress` (losses, learning rates,
    tokens and seconds so far)."""
    groups = [{k: v for k, v in g.items()} for g in optimizer.state_dict()["param_groups"]]
    tensors = _state_tensors(params, optimizer)
    extra: dict[str, Any] = {}
    if stopper is not None:
        stop_tensors, extra["early_stop"] = stopper.state()
        tensors.update(stop_tensors)
    checkpoint.save_checkpoint(root, step, key, tensors, {
        "step": step, **progress, "optimizer_groups": groups, "scheduler": scheduler.state_dict(), **extra})


def _utilisation(peft_model: Any, tokens: int, seconds: float, bf16: bool) -> tuple[float, float]:
    """(model FLOPs utilisation, the matmul peak it is a share of) of a finished run."""
    peaks = matmul_peaks()  # measured once per machine (the bf16 choice measured them already)
    peak = peaks.bfloat16 if bf16 else peaks.float32
    # the loss functions report tokens, not labelled positions: the head's FLOPs are left out (a lower bound)
    step_flops = lora_step_flops(*lora_weight_counts(peft_model), tokens=tokens, labelled_tokens=0)
    return (mfu(step_flops / seconds, peak) if seconds > 0 else 0.0), peak


def _publish(peft_model: Any, out_dir: Path, manifest: dict[str, Any]) -> None:
    """Save the adapter and its manifest into `out_dir` at once (a staged folder moved in place)."""
    tmp = staging_dir(out_dir)
    peft_model.save_pretrained(tmp, safe_serialization=True)
    # The manifest is written last: a folder without it is an interrupted save, never reused.
    (tmp / "training.json").write_text(json.dumps(manifest, indent=1))
    publish_dir(tmp, out_dir)


def load_train_result(adapter_dir: Path) -> TrainResult | None:
    """The result of an earlier, complete training run saved in `adapter_dir`, if any."""
    manifest = Path(adapter_dir) / "training.json"
    if not manifest.exists() or not (Path(adapter_dir) / "adapter_model.safetensors").exists():
        return None
    m = json.loads(manifest.read_text())
    return TrainResult(
        adapter_dir=Path(adapter_dir), seconds=m["seconds"], train_tokens=m["train_tokens"],
        steps=m["steps"], losses=tuple(m["losses"]), lrs=tuple(m.get("lrs", ())),
        resumed_from=m.get("resumed_from", 0), mfu=m.get("mfu"), early_stop=m.get("early_stop"),
        planned_steps=m.get("planned_steps"),
    )
