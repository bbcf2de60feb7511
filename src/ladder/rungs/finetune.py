"""What every fine-tuning rung builds on: the local backend it trains, train-or-reuse of a
content-addressed adapter, the training chats, and the Candidate that answers with the adapter.

Adapters are content-addressed by (trainer version, base weights, the rung's `key_parts`): an
identical climb finds the finished adapter and does not train again, and an interrupted one
(Ctrl+C, kill -9) resumes from the newest complete checkpoint, which lives beside that same
folder (training/loop.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ladder.backends.base import unwrap
from ladder.backends.local import LocalBackend
from ladder.rungs.heldout import heldout_metric
from ladder.rungs.base import RungContext
from ladder.tracking.costs import request_cost, training_cost
from ladder.training.args import LoraArgs, run_settings
from ladder.training.lora_sft import TrainResult, load_train_result, train_lora_sft
from ladder.types import (BuildCost, Candidate, Chat, Example, Generation, Message, Prompt, Retrieval,
                          chat_to_json, content_hash)

TRAINER_VERSION = 4  # bump when a change to training would change the adapter it produces

Trainer = Callable[[Any, Any, Path], TrainResult]  # (model, tokenizer, out_dir) -> result


def local_backend(ctx: RungContext, rung: str) -> LocalBackend:
    """The task's model, which must be local: a fine-tuning rung trains its weights."""
    local = unwrap(ctx.backend)
    if not isinstance(local, LocalBackend):
        raise ValueError(f"{rung} trains local weights: set `model.backend: local` in task.yaml")
    return local


def calls_cost(generations: Sequence[Generation], input_per_1k: float, output_per_1k: float) -> BuildCost:
    """What model calls made while building a rung cost (a teacher's answers, DPO's candidate
    answers): money at these prices, the calls' seconds and tokens. Failed calls cost nothing
    here: they returned no tokens. Cached answers count what producing them cost."""
    return BuildCost(
        seconds=sum(g.latency_s for g in generations),
        money=sum(request_cost(g.prompt_tokens, g.completion_tokens, input_per_1k, output_per_1k) for g in generations),
        call_tokens=sum(g.prompt_tokens + g.completion_tokens for g in generations),
    )


def train_or_reuse(ctx: RungContext, rung: str, key_parts: tuple[Any, ...], trainer: Trainer,
                   status: str) -> tuple[Path, TrainResult, bool]:
    """The adapter for these inputs: reused when finished, resumed when interrupted, else trained.

    `key_parts` must capture everything that changes the adapter (data, `run_settings`, kind).
    Returns (adapter folder, result, reused)."""
    local = local_backend(ctx, rung)
    key = content_hash(TRAINER_VERSION, ctx.backend.fingerprint(), *key_parts)
    adapter_dir = ctx.artifacts / "adapters" / f"{rung}-{key[:16]}"
    result = load_train_result(adapter_dir)
    if result is not None:
        return adapter_dir, result, True
    ctx.on_status(status)
    result = trainer(local.base_copy(), local.tokenizer, adapter_dir)
    if result.resumed_from:
        ctx.on_status(f"resumed from the checkpoint at step {result.resumed_from}")
    return adapter_dir, result, False


def answer_chats(prompt: Prompt, examples: Sequence[Example], answers: Sequence[str] | None = None) -> list[Chat]:
    """Training chats: each example under `prompt`, answered by its reference (or `answers`)."""
    answers = answers if answers is not None else [ex.expected for ex in examples]
    return [prompt.render(ex) + (Message("assistant", a),) for ex, a in zip(examples, answers)]


def early_stop_note(record: Mapping[str, Any] | None) -> str:
    """What the early stop did, for the build notes the report shows ("" when it was off)."""
    if not record:
        return ""
    measure = record["measure"]
    shown = "{:.3f}" if measure == "loss" else "{:.0%}"
    curve = ", ".join(f"{h['step']}: " + ("none scored" if h["value"] is None else shown.format(h["value"]))
                      for h in record["heldout"])
    what = "loss" if measure == "loss" else f"{measure} pass rate"
    at = record["stopped_at"]
    values = {h["step"]: h["value"] for h in record["heldout"]}
    if at is None:
        stopped = "ran every step"
    elif measure != "loss" and at == record["best_step"] and values.get(at) == 1.0:
        stopped = f"stopped early at step {at}, where every held-out item passed"
    else:
        stopped = f"stopped early at step {at}, no better {what} in the evaluations since"
    return (f"; {stopped}; kept step {record['best_step']} (the best {what} on {record['holdout_items']}"
            f" held-out training items; by step: {curve})")


def finetune_candidate(rung: str, ctx: RungContext, prompt: Prompt, adapter_dir: Path, result: TrainResult,
                       reused: bool, description: str, extra: BuildCost = BuildCost(),
                       notes: str = "", retrievals: Mapping[str, Retrieval] | None = None) -> Candidate:
    """The Candidate answering under `prompt` with the adapter; its build cost is the training's
    plus `extra` (model calls made while building, an index build, an earlier training stage)."""
    return Candidate(
        rung=rung,
        kind="finetune",
        prompt=prompt,
        adapter=str(adapter_dir),
        build=BuildCost(
            seconds=result.seconds + extra.seconds,
            money=training_cost(result.seconds, ctx.task.spec.prices.train_per_hour) + extra.money,
            train_tokens=result.train_tokens + extra.train_tokens,
            call_tokens=extra.call_tokens,
            reused=reused,
            notes=_steps_text(result) + f", final loss {result.final_loss:.4f}, {result.tokens_per_s:.0f} train tok/s"
                  + (f", MFU {100 * result.mfu:.1f}%" if result.mfu is not None else "")
                  + early_stop_note(result.early_stop)
                  + (f"; {notes}" if notes else ""),
        ),
        description=description,
        retrievals=retrievals or {},
        heldout_pass_rate=heldout_pass_rate(result.early_stop),
    )


def _steps_text(result: TrainResult) -> str:
    planned = result.planned_steps
    return f"{result.steps} steps" if planned in (None, result.steps) else f"{result.steps} of {planned} planned steps"


def heldout_pass_rate(record: Mapping[str, Any] | None) -> float | None:
    """The target pass rate of the kept weights on the held-out training items (None when the
    early stop went by the loss, was off, or scored none)."""
    if not record or record["measure"] == "loss":
        return None
    return next((h["value"] for h in record["heldout"] if h["step"] == record["best_step"]), None)


def train_sft(ctx: RungContext, rung: str, args: LoraArgs, chats: Sequence[Chat], examples: Sequence[Example],
              status: str) -> tuple[Path, TrainResult, bool]:
    """LoRA SFT on `chats`, `chats[i]` answering `examples[i]` (train_or_reuse): (adapter folder,
    result, reused). An early stop on the target goes by the task's target metric on held-out
    chats, where the task's checks score it (rungs/heldout.py)."""
    seed = ctx.task.spec.seed
    # several training processes cannot call back into this one to answer held-out items: there
    # an early stop on the target trains every epoch (training/lora_sft.py, train_on_rows)
    metric = (heldout_metric(ctx.task, local_backend(ctx, rung), chats, examples)
              if args.early_stop_patience and args.early_stop_measure == "target" and args.processes == 1 else None)
    adapter_dir, result, reused = train_or_reuse(
        ctx, rung, ([chat_to_json(c) for c in chats], run_settings(args, seed, metric)),
        lambda model, tok, out: train_lora_sft(model, tok, chats, args, out, seed=seed, on_step=ctx.on_train_step,
                                               heldout_metric=metric),
        status,
    )
    if metric is not None and not reused:
        metric.saved(adapter_dir)
    return adapter_dir, result, reused


def train_sft_candidate(rung: str, ctx: RungContext, args: LoraArgs, prompt: Prompt,
                        answers: Sequence[str] | None = None, description: str = "zero-shot prompt",
                        extra: BuildCost = BuildCost(), notes: str = "",
                        examples: Sequence[Example] | None = None) -> Candidate:
    """LoRA SFT on the training split (or `examples`) under `prompt`; the Candidate answers under it too."""
    local_backend(ctx, rung)
    examples = ctx.task.train if examples is None else examples
    if not examples:
        raise ValueError(f"{rung} needs training examples: set `data.train` in task.yaml")
    chats = answer_chats(prompt, examples, answers)
    adapter_dir, result, reused = train_sft(
        ctx, rung, args, chats, examples, f"training LoRA on {len(chats)} examples x {args.epochs} epochs")
    return finetune_candidate(
        rung, ctx, prompt, adapter_dir, result, reused,
        f"LoRA r={args.rank} on {len(chats)} training chats, {description}",
        extra=extra, notes=notes,
    )
