"""The rungs ranked from pairwise votes: Bradley-Terry strengths with bootstrap 95% intervals.

Two rankings, never pooled, since a judge's and people's votes measure different things: one
from the pairwise judges' verdicts (source kind `llm_judge`: each pair asked in both orders is one
vote, read from ladder.scoring_judges.resolved_pairs; an inconsistent pair is a tie, a pair with
an order missing or errored is no vote), one from people's blind A/B choices (`human`: each
choice is one vote). A tie, and a person's both_bad, count as half a win for each rung.

A strength is on the log-odds scale and the strengths sum to zero: a rung's strength is its
log-odds of beating an average rung of the ranking, and a difference of 1 between two rungs means
the stronger wins e^1 / (1 + e^1) = 73% of their comparisons. The fit and the intervals are
ladder.stats.bradley_terry_intervals (seeded resampling of the votes).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ladder.scoring_human import human_choices
from ladder.scoring_judges import resolved_pairs
from ladder.bradley_terry import BT_PRIOR_SD, bradley_terry_intervals, connected
from ladder.types import Comparison

RESAMPLES = 1000


def method_text(resamples: int = RESAMPLES) -> str:
    """How the strengths and their intervals are made, named in the report."""
    return (f"Bradley-Terry (ties half a win each; a weak normal prior, sd {BT_PRIOR_SD:g}, on each strength), "
            f"fitted with scipy L-BFGS-B; percentile bootstrap 95% intervals from {resamples} seeded resamples of "
            "the votes")


def _votes(source_kind: str, comparisons: Sequence[Comparison],
           rung_of: Mapping[int, str]) -> tuple[list[tuple[str, str, float]], list[str]]:
    """(rung, rung, score) votes (score 1: the first rung won, 0.5: a tie) and who cast them."""
    votes: list[tuple[str, str, float]] = []
    if source_kind == "llm_judge":
        pairs = [p for p in resolved_pairs(comparisons) if p["status"] != "incomplete"
                 and p["a"] in rung_of and p["b"] in rung_of and rung_of[p["a"]] != rung_of[p["b"]]]
        votes = [(rung_of[p["a"]], rung_of[p["b"]],
                  0.5 if p["outcome"] is None else float(p["outcome"] == p["a"])) for p in pairs]
        return votes, sorted({p["judge"] for p in pairs})
    chosen = [c for c in human_choices(comparisons)
              if c.a in rung_of and c.b in rung_of and rung_of[c.a] != rung_of[c.b]]
    votes = [(rung_of[c.a], rung_of[c.b], {"a": 1.0, "b": 0.0}.get(str(c.winner), 0.5)) for c in chosen]
    return votes, sorted({c.source_name for c in chosen})


def _ranking(source_kind: str, votes: list[tuple[str, str, float]], sources: list[str], order: list[str],
             resamples: int, seed: int) -> dict[str, Any]:
    rungs = [r for r in order if any(r in v[:2] for v in votes)]
    index = {r: i for i, r in enumerate(rungs)}
    outcomes = [(index[x], index[y], s) for x, y, s in votes]
    strengths, lows, highs = bradley_terry_intervals(len(rungs), outcomes, resamples=resamples, seed=seed)
    entries = []
    for r in rungs:
        mine = [(s if x == r else 1.0 - s) for x, y, s in votes if r in (x, y)]
        wins, losses = sum(s == 1.0 for s in mine), sum(s == 0.0 for s in mine)
        i = index[r]
        entries.append({
            # None when every resample gave the same strength (e.g. each vote went the same way): a
            # zero-width bootstrap interval would read as certainty
            "rung": r, "strength": float(strengths[i]),
            "ci": [float(lows[i]), float(highs[i])] if highs[i] - lows[i] > 1e-9 else None,
            "n": len(mine), "wins": wins, "losses": losses, "ties": len(mine) - wins - losses,
            # won or lost every vote: the strength is set by the prior and the interval says little
            "sweep": len(mine) > 0 and (wins == len(mine) or losses == len(mine)),
        })
    ranked = sorted(entries, key=lambda e: -e["strength"])
    for rank, e in enumerate(ranked, start=1):
        e["rank"] = rank
    return {"source_kind": source_kind, "sources": sources, "n_votes": len(votes),
            "connected": connected(len(rungs), [(index[x], index[y]) for x, y, _ in votes]),
            "method": method_text(resamples), "rungs": entries}


def pairwise_rankings(gens_by_rung: Mapping[str, Sequence[Any]], comparisons: Sequence[Comparison],
                      resamples: int = RESAMPLES, seed: int = 0) -> list[dict[str, Any]]:
    """One ranking per source kind that voted on the given rows (rung -> its stored generations,
    in the report's rung order): llm_judge first, then human. Empty without pairwise votes."""
    rung_of = {g.id: rung for rung, gens in gens_by_rung.items() for g in gens}
    out = []
    for kind in ("llm_judge", "human"):
        votes, sources = _votes(kind, comparisons, rung_of)
        if votes:
            out.append(_ranking(kind, votes, sources, list(gens_by_rung), resamples, seed))
    return out
