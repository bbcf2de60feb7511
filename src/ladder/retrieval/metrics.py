"""Retrieval metrics as plain functions over ranked ids and a set of gold ids.

Gold items: the gold documents (`gold_doc`, paths relative to the corpus folder; a .jsonl file
counts for every record in it), or, when the example gives a `gold_passage`, the passage alone (it
is the finer target; a gold_doc next to it then only restricts where it may be found). A chunk
holds the passage when it contains it, or, for a passage of 6+ words, its first or second half
(so a passage cut by a chunk boundary is still found: with overlapping windows one side always
keeps a half). Text is whitespace and case normalised. `recall_at_k` is the share of gold items
found in the top k; `reciprocal_rank` is 1 / rank of the first relevant result (0 if none).
"""

from __future__ import annotations

import re
from typing import Collection, Sequence

from ladder.retrieval.chunking import Chunk

PASSAGE = "passage"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _holds_passage(text: str, passage: str) -> bool:
    text, words = _norm(text), _norm(passage).split()
    if " ".join(words) in text:
        return True
    half = len(words) // 2
    return len(words) >= 6 and (" ".join(words[:half]) in text or " ".join(words[half:]) in text)


def gold_key(chunk: Chunk, gold_docs: Collection[str], gold_passage: str | None) -> str | None:
    """Which gold item this chunk satisfies: a gold doc path, PASSAGE, or None."""
    doc = chunk.source.split("#", 1)[0]
    from_gold_doc = next((g for g in gold_docs if chunk.source == g or doc == g), None)
    if gold_passage:
        in_scope = from_gold_doc is not None or not gold_docs
        return PASSAGE if in_scope and _holds_passage(chunk.text, gold_passage) else None
    return from_gold_doc


def gold_items(gold_docs: Collection[str], gold_passage: str | None) -> set[str]:
    return {PASSAGE} if gold_passage else set(gold_docs)


def recall_at_k(retrieved: Sequence[str | None], gold: Collection[str], k: int) -> float:
    """Share of `gold` among the first k of `retrieved` (None = not relevant)."""
    if not gold:
        raise ValueError("recall@k needs at least one gold item")
    if k <= 0:
        raise ValueError(f"k must be > 0 (got {k})")
    found = {r for r in retrieved[:k] if r is not None} & set(gold)
    return len(found) / len(set(gold))


def reciprocal_rank(retrieved: Sequence[str | None], gold: Collection[str]) -> float:
    for rank, r in enumerate(retrieved, start=1):
        if r is not None and r in gold:
            return 1.0 / rank
    return 0.0


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
