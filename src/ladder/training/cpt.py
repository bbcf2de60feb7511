"""LoRA continued pre-training: next-token loss on every token of raw domain text.

The documents are tokenized, joined with the end-of-text token between them and cut into
rows of `max_length` tokens; every token is a label (nothing is masked as a prompt). The loop,
checkpoints and resume are the SFT trainer's (training/loop.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ladder.training.args import LoraArgs
from ladder.training.lora_sft import Row, pad_id_of, train_on_rows
from ladder.training.loop import StepFn, TrainResult


def chunk_texts(tokenizer: Any, texts: Sequence[str], max_length: int, min_length: int = 8) -> list[Row]:
    """Rows of at most `max_length` tokens covering all texts; tails shorter than `min_length` are dropped."""
    if max_length < 2:
        raise ValueError("max_length must be at least 2 tokens")
    stream: list[int] = []
    eos = tokenizer.eos_token_id
    for text in texts:
        if text.strip():
            stream += tokenizer(text, add_special_tokens=False)["input_ids"] + ([eos] if eos is not None else [])
    rows = []
    for start in range(0, len(stream), max_length):
        ids = stream[start : start + max_length]
        if len(ids) >= min_length:
            rows.append((ids, list(ids)))
    return rows


def train_lora_cpt(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    args: LoraArgs,
    out_dir: Path,
    *,
    seed: int,
    on_step: StepFn | None = None,
    checkpoint_every: int | None = None,
) -> TrainResult:
    """Train a LoRA adapter on raw `texts` (all tokens are targets); save it to `out_dir`."""
    rows = chunk_texts(tokenizer, texts, args.max_length)
    if not rows:
        raise ValueError("no text to train on: the corpus is empty")
    return train_on_rows(model, rows, pad_id_of(tokenizer), args, out_dir, seed=seed, on_step=on_step,
                         checkpoint_every=checkpoint_every, kind="cpt")
