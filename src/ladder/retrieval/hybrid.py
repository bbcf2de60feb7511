"""Hybrid retrieval: reciprocal rank fusion of a lexical and a dense ranking.

RRF score of a row = sum over rankings of 1 / (c + rank), rank counted from 1 (Cormack et al.
2009, c = 60). Only ranks matter, so BM25 and cosine scores need no calibration.
"""

from __future__ import annotations

from typing import Protocol, Sequence

RRF_C = 60


class Searcher(Protocol):
    def search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]: ...


def rrf(rankings: Sequence[Sequence[int]], c: int = RRF_C) -> list[tuple[int, float]]:
    """Fuse ranked lists of row ids; best first, ties broken by row id."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (c + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


class HybridIndex:
    def __init__(self, lexical: Searcher, dense: Searcher, depth: int = 50):
        self.lexical = lexical
        self.dense = dense
        self.depth = depth  # how deep each ranking is read before fusing

    def search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        depth = max(self.depth, k)
        lex = self.lexical.search(queries, depth)
        den = self.dense.search(queries, depth)
        return [rrf([[i for i, _ in a], [i for i, _ in b]])[:k] for a, b in zip(lex, den)]
