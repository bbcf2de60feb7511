"""Lexical retrieval: BM25 scores from bm25s over lower-cased word tokens.

Tokens are lower-cased words of two or more letters/digits, minus English stopwords, with a
plural "s" stripped ("policies" stays, "days" -> "day"): a stemmer-free middle ground that needs
no extra package.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
STOPWORDS = frozenset(
    "a an and are as at be been but by can did do does for from had has have he her his how i if in"
    " into is it its me my no not of on or our she so than that the their them then there these they"
    " this to was we were what when where which who whom why will with would you your".split()
)


def tokenize(text: str) -> list[str]:
    out = []
    for tok in _TOKEN.findall(text.lower()):
        if tok in STOPWORDS:
            continue
        if len(tok) > 3 and tok.endswith("s") and not tok.endswith(("ss", "us", "is")):
            tok = tok[:-1]
        out.append(tok)
    return out


class BM25Index:
    """A bm25s index over texts; `search` returns (row, score) pairs, best first."""

    def __init__(self, model: object, n: int):
        self._model = model
        self.n = n

    @classmethod
    def build(cls, texts: Sequence[str]) -> "BM25Index":
        import bm25s

        model = bm25s.BM25()
        # An empty-token entry keeps bm25s happy on a text with no indexable word.
        model.index([tokenize(t) or [""] for t in texts], show_progress=False)
        return cls(model, len(texts))

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), show_progress=False)  # type: ignore[attr-defined]

    @classmethod
    def load(cls, folder: Path, n: int) -> "BM25Index":
        import bm25s

        return cls(bm25s.BM25.load(str(folder), show_progress=False), n)

    def scores(self, query: str) -> np.ndarray:
        ids = self._model.get_tokens_ids(tokenize(query))  # type: ignore[attr-defined]
        if not ids:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self._model.get_scores_from_ids(ids), dtype=np.float32)  # type: ignore[attr-defined]

    def search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        """Best rows first; a row sharing no word with the query (score 0) is not retrieved."""
        return [[(i, s) for i, s in top_k(self.scores(q), k) if s > 0] for q in queries]


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best rows of a score vector, best first; ties broken by row (stable)."""
    k = min(k, len(scores))
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    order = sorted(part.tolist(), key=lambda i: (-float(scores[i]), i))
    return [(i, float(scores[i])) for i in order]
