"""LoRA supervised fine-tuning on chats, loss on the assistant's answer only.

Knows nothing of rungs or tasks: it takes a model, a tokenizer, chats whose last message is
the assistant's target, and a config, and leaves a peft adapter (safetensors + config) in a
folder. Batches are sorted by length so little compute goes to padding; LoRA dropout defaults
to 0 because its RNG was ~20% of each step on this CPU (DESIGN.md).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ladder.types import Chat

IGNORE = -100  # label value the loss skips


@dataclass(frozen=True)
class SFTConfig:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.0
    learning_rate: float = 1e-3
    epochs: int = 2
    batch_size: int = 8
    max_length: int = 512
    warmup_ratio: float = 0.1
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    bf16: bool = False  # autocast matmuls to bfloat16 (fp32 master weights); see cpu_has_fast_bf16
    seed: int = 0


@dataclass(frozen=True)
class TrainResult:
    adapter_dir: Path
    seconds: float
    train_tokens: int  # tokens processed (prompt + answer, no padding), summed over epochs
    steps: int
    losses: tuple[float, ...] = field(default_factory=tuple)

    @property
    def final_loss(self) -> float:
        tail = self.losses[-max(1, len(self.losses) // 10) :]
        return sum(tail) / len(tail) if tail else math.nan


StepFn = Callable[[int, int, float], None]  # (step, total steps, loss)


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with native bf16 matmul (AMX or AVX512-BF16), where autocast pays."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def tokenize_for_sft(tokenizer: Any, chat: Chat, max_length: int) -> tuple[list[int], list[int]]:
    """Token ids and labels for one chat; labels are IGNORE everywhere but the final answer."""
    messages = [m.to_dict() for m in chat]
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(messages, add_generation_prompt=False, tokenize=False)
    if not full.startswith(prompt):
        raise ValueError("chat template renders the prompt differently with and without the answer")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([IGNORE] * len(prompt_ids) + answer_ids)[:max_length]
    return ids, labels


def _batches(rows: list[tuple[list[int], list[int]]], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indices grouped by similar length, batch order shuffled each epoch."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def _collate(rows: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (i, l) in enumerate(rows):  # right padding: positions stay 0..n-1 for every row
        ids[r, : len(i)] = torch.tensor(i)
        labels[r, : len(l)] = torch.tensor(l)
        mask[r, : len(i)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def train_lora_sft(
    model: Any,
    tokenizer: Any,
    chats: Sequence[Chat],
    config: SFTConfig,
    out_dir: Path,
    on_step: StepFn | None = None,
) -> TrainResult:
    """Train a LoRA adapter on `chats` and save it atomically to `out_dir`."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    rows = [tokenize_for_sft(tokenizer, c, config.max_length) for c in chats]
    if not rows:
        raise ValueError("no training examples")

    peft_model = get_peft_model(
        model,
        LoraConfig(
            r=config.rank,
            lora_alpha=config.alpha,
            lora_dropout=config.dropout,
            target_modules=list(config.target_modules),
            task_type="CAUSAL_LM",
        ),
    )
    peft_model.train()
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(rows) / config.batch_size)
    total = steps_per_epoch * config.epochs
    warmup = max(1, int(total * config.warmup_ratio))

    def lr_at(step: int) -> float:  # linear warmup, then cosine decay to 10%
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    losses: list[float] = []
    tokens = 0
    step = 0
    t0 = time.perf_counter()
    for _epoch in range(config.epochs):
        for batch_idx in _batches(rows, config.batch_size, rng):
            batch = _collate([rows[i] for i in batch_idx], pad_id)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
                loss = peft_model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            tokens += int(batch["attention_mask"].sum())
            step += 1
            if on_step:
                on_step(step, total, losses[-1])
    seconds = time.perf_counter() - t0
    peft_model.eval()

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=".train-"))
    peft_model.save_pretrained(tmp, safe_serialization=True)
    result = TrainResult(adapter_dir=out_dir, seconds=seconds, train_tokens=tokens, steps=step, losses=tuple(losses))
    manifest = {
        "config": asdict(config),
        "seconds": seconds,
        "train_tokens": tokens,
        "steps": step,
        "losses": losses,
        "examples": len(rows),
    }
    # The manifest is written last: a folder without it is an interrupted save, never reused.
    with open(tmp / "training.json", "w") as f:
        json.dump(manifest, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return result


def load_train_result(adapter_dir: Path) -> TrainResult | None:
    """The result of an earlier, complete training run saved in `adapter_dir`, if any."""
    manifest = Path(adapter_dir) / "training.json"
    if not manifest.exists() or not (Path(adapter_dir) / "adapter_model.safetensors").exists():
        return None
    m = json.loads(manifest.read_text())
    return TrainResult(
        adapter_dir=Path(adapter_dir), seconds=m["seconds"], train_tokens=m["train_tokens"],
        steps=m["steps"], losses=tuple(m["losses"]),
    )
