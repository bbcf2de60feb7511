"""Near-duplicates across splits: an eval row that is a training row with an order number
changed measures recall, not the technique.

Texts are normalised (lowercase; every run of digits, with its inner separators, becomes one
token "0"; punctuation dropped) and cut into overlapping word n-grams (shingles, Broder 1997).
Two inputs are similar when the Jaccard similarity of their shingle sets is at least THRESHOLD.
With 3-grams and 0.8, a change of numbers alone scores 1.0, while one changed word in a 15-word
message already scores about 0.6: the check flags copies, not siblings made from one template.
An inverted index over shingles keeps the comparison to pairs that share one.

A training row is a near-duplicate of an eval row when their inputs are similar and copying the
training row's answer would answer the eval row: the reference answers are equal (case and
spacing aside), or the inputs are equal outright. The answer condition is what keeps tasks
whose numbers are the question apart: "Inbound 139, outbound 487" and "Inbound 267, outbound
385" normalise alike, but their answers differ, and a model must compute them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from ladder.types import Example

NGRAM = 3  # words per shingle
THRESHOLD = 0.8  # Jaccard similarity of the shingle sets from which two inputs are near-duplicates

_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
_WORD = re.compile(r"[^\W_]+")


def normalise(text: str) -> list[str]:
    """Lowercased words, every number collapsed to the token "0", punctuation dropped."""
    return _WORD.findall(_NUMBER.sub(" 0 ", text.lower()))


def shingles(text: str, n: int = NGRAM) -> frozenset[tuple[str, ...]]:
    """The set of word n-grams of the normalised text (the whole text when it is shorter than n)."""
    words = normalise(text)
    if len(words) <= n:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def similarity(a: str, b: str, n: int = NGRAM) -> float:
    """Jaccard similarity of the two texts' shingle sets (two empty texts: 1.0)."""
    sa, sb = shingles(a, n), shingles(b, n)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def near_duplicate_indices(queries: Sequence[str], corpus: Sequence[str], threshold: float = THRESHOLD,
                           n: int = NGRAM) -> list[dict[int, float]]:
    """For each query, {corpus index: similarity} of the corpus texts that are its near-duplicates
    (similarity >= threshold > 0: texts sharing no shingle are never compared)."""
    if threshold <= 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    sets = [shingles(t, n) for t in corpus]
    index: dict[tuple[str, ...], list[int]] = {}
    for i, s in enumerate(sets):
        for g in s:
            index.setdefault(g, []).append(i)
    out: list[dict[int, float]] = []
    for q in queries:
        qs = shingles(q, n)
        if not qs:  # an empty text only duplicates empty texts
            out.append({i: 1.0 for i, s in enumerate(sets) if not s})
            continue
        shared: dict[int, int] = {}
        for g in qs:
            for i in index.get(g, ()):
                shared[i] = shared.get(i, 0) + 1
        sims = {i: k / (len(qs) + len(sets[i]) - k) for i, k in shared.items()}
        out.append({i: sim for i, sim in sims.items() if sim >= threshold})
    return out


def _same(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


def copied_from(examples: Sequence[Example], train: Sequence[Example],
                threshold: float = THRESHOLD) -> list[dict[int, float]]:
    """For each example, {train index: similarity} of the training rows it is a near-duplicate of
    (similar input, and the same answer or the same input)."""
    hits = near_duplicate_indices([e.input for e in examples], [t.input for t in train], threshold)
    return [{i: sim for i, sim in found.items()
             if _same(train[i].expected, e.expected) or _same(train[i].input, e.input)}
            for e, found in zip(examples, hits)]


@dataclass(frozen=True)
class NearDuplicate:
    train: Example
    eval: Example
    similarity: float

    def line(self) -> str:
        """`eval file:line ~ train file:line`, as `ladder data check` prints it."""
        return (f"{self.eval.source or self.eval.id} ~ {self.train.source or self.train.id}: near-duplicate "
                f"of a training row (input similarity {self.similarity:.2f})")


def near_duplicates(train: Sequence[Example], evals: Sequence[Example], threshold: float = THRESHOLD) -> list[NearDuplicate]:
    """Every (train, eval) near-duplicate pair, in eval order, most similar first."""
    return [NearDuplicate(train[i], e, sim)
            for e, found in zip(evals, copied_from(evals, train, threshold))
            for i, sim in sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))]
