"""The prompt searches' race: successive halving of challengers on the selection rows, then the
challenger rule (the survivor replaces the incumbent only when its mean on the rows both were
scored on is higher by more than the paired standard error of the difference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ladder.stats import paired_standard_error

Scores = Mapping[str, float | None]  # row id -> score (None: no score)


def halving_rounds(n_candidates: int, n_rows: int, first_rows: int, eta: int) -> list[tuple[int, int]]:
    """(candidates scored, rows each) per round of successive halving: every candidate on the
    first `first_rows` rows, then 1/eta of them (rounded up) on eta times the rows, until the
    last round scores the survivors on every row."""
    rounds = []
    c, r = n_candidates, min(max(1, first_rows), n_rows)
    while True:
        rounds.append((c, r))
        if r >= n_rows:
            return rounds
        c, r = max(1, math.ceil(c / eta)), min(n_rows, r * eta)


def race_calls(n_candidates: int, n_rows: int, first_rows: int, eta: int) -> int:
    """Row scorings a race of `n_candidates` challengers costs (rows scored earlier are not asked again)."""
    total, seen = 0, 0
    for c, r in halving_rounds(n_candidates, n_rows, first_rows, eta):
        total += c * (r - seen)
        seen = r
    return total


def mean(scores: Scores) -> float | None:
    values = [s for s in scores.values() if s is not None]
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class Verdict:
    wins: bool
    difference: float  # challenger - incumbent, mean over the shared rows
    standard_error: float
    n: int  # rows both were scored on

    def to_json(self) -> dict[str, Any]:
        return {"wins": self.wins, "difference": self.difference,
                "standard_error": None if math.isinf(self.standard_error) else self.standard_error, "n": self.n}


def challenger_wins(incumbent: Scores, challenger: Scores) -> Verdict:
    """The challenger replaces the incumbent only when its mean on the rows both were scored on
    is higher by more than the paired standard error of the difference (rows: same ids)."""
    shared = sorted(i for i in set(incumbent) & set(challenger)
                    if incumbent[i] is not None and challenger[i] is not None)
    diff, se, n = paired_standard_error([incumbent[i] for i in shared],  # type: ignore[misc]
                                        [challenger[i] for i in shared])  # type: ignore[misc]
    return Verdict(n >= 2 and diff > 0 and diff > se, diff, se, n)


def race(incumbent: str, challengers: Sequence[str], rows: Sequence[str],
         score: Callable[[str, Sequence[str]], Scores], first_rows: int, eta: int,
         trace: list[dict[str, Any]]) -> str:
    """The winner: the incumbent, or the successive-halving survivor among `challengers` when it
    beats the incumbent by the challenger rule. `score(candidate, rows)` gives its scores on those
    rows; the incumbent is scored on every row first, so a budget stop mid-race leaves a valid choice.
    Each round and the final verdict are appended to `trace`."""
    held = score(incumbent, rows)
    trace.append({"step": "incumbent", "candidate": incumbent, "rows": len(rows), "mean": mean(held)})
    if not challengers:
        return incumbent
    survivors = list(challengers)
    for keep, r in halving_rounds(len(survivors), len(rows), first_rows, eta):
        means = {c: mean(score(c, rows[:r])) for c in survivors[:keep]}
        survivors = sorted(survivors[:keep], key=lambda c: -math.inf if means[c] is None else -means[c])
        trace.append({"step": "round", "rows": r, "means": means})
    best = survivors[0]
    verdict = challenger_wins(held, score(best, rows))
    trace.append({"step": "challenge", "incumbent": incumbent, "challenger": best, **verdict.to_json()})
    return best if verdict.wins else incumbent
