"""Tier 3 in figures: what people's ratings and blind A/B choices say about each rung.

Reads only stored records: a person's rating of one answer is an Assessment named `review`
(source_kind human, source_name the rater, `passed`, `score` 1-5, metadata["seconds"]); an A/B
choice is a Comparison with source_kind human (winner a | b | tie | both_bad).

- Per rung: the human pass rate with its Wilson interval, over the answers people rated. An
  answer rated by several people counts once, by the majority of their pass/fail labels; an even
  split is counted apart (`n_split`) and left out of the rate, since neither reading is the
  people's. The mean rating is the mean over answers of each answer's mean 1-5 score.
- Inter-rater agreement per rung: Fleiss' kappa on the pass/fail labels of the answers that two or
  more people rated (raters may differ from answer to answer).
- Per pair of rungs: A/B win rates, each rung's share of the decisive choices (Wilson interval),
  with ties and both_bad counted and reported apart, never as wins. One choice is one vote.
- The cost of tier 3: people's seconds per label (metadata["seconds"]), ratings and A/B choices
  apart and together.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ladder.stats import fleiss_kappa, wilson_interval
from ladder.types import Assessment, Comparison

HUMAN_LABEL = "review"  # the name of a person's rating Assessment


def ratings(gen: Any) -> list[Assessment]:
    """People's ratings of one answer, one per rater (a rater who rated it twice: the later one)."""
    latest: dict[str, Assessment] = {}
    for a in gen.assessments:
        if a.source_kind == "human" and a.name == HUMAN_LABEL and a.error is None:
            latest[a.source_name] = a
    return list(latest.values())


def consensus(gen: Any) -> bool | None:
    """The people's pass/fail label of one answer: the majority of its raters' labels; None when
    nobody gave one or the raters split evenly."""
    labels = [a.passed for a in ratings(gen) if a.passed is not None]
    passed = sum(labels)
    if not labels or 2 * passed == len(labels):
        return None
    return 2 * passed > len(labels)


def _rung_figures(rung: str, gens: Sequence[Any]) -> dict[str, Any] | None:
    rated = [(g, ratings(g)) for g in gens]
    rated = [(g, rs) for g, rs in rated if rs]
    if not rated:
        return None
    labelled = [(g, [a for a in rs if a.passed is not None]) for g, rs in rated]
    labelled = [(g, ls) for g, ls in labelled if ls]
    verdicts = [v for v in (consensus(g) for g, _ in labelled) if v is not None]
    scores = [float(np.mean(s)) for s in ([a.score for a in rs if a.score is not None] for _, rs in rated) if s]
    multi = [ls for _, ls in labelled if len(ls) >= 2]
    kappa = fleiss_kappa([[sum(a.passed for a in ls), sum(not a.passed for a in ls)] for ls in multi]) if multi else None
    return {
        "rung": rung, "n_rated": len(rated), "n_labels": sum(len(rs) for _, rs in rated),
        "n": len(verdicts), "n_split": len(labelled) - len(verdicts),
        "pass_rate": float(np.mean(verdicts)) if verdicts else None,
        "pass_ci": list(wilson_interval(sum(verdicts), len(verdicts))) if verdicts else None,
        "mean_rating": float(np.mean(scores)) if scores else None, "n_scored": len(scores),
        "raters": sorted({a.source_name for _, rs in rated for a in rs}),
        "inter_rater": None if not multi else {
            "method": "Fleiss' kappa", "n_items": len(multi),
            "n_raters": len({a.source_name for ls in multi for a in ls}), "kappa": kappa,
            "undefined": None if kappa is not None else "every label was the same: chance agreement is 1",
        },
    }


def human_choices(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """People's A/B choices that name a winner (a, b, tie or both_bad)."""
    return [c for c in comparisons if c.source_kind == "human" and c.error is None and c.winner is not None]


def _ab_figures(pair: tuple[str, str], choices: list[tuple[str, str]]) -> dict[str, Any]:
    """`choices`: (rung shown as a, winner) for one pair of rungs; figures in the pair's order."""
    first, second = pair
    wins = {first: 0, second: 0}
    ties = both_bad = 0
    for a_rung, winner in choices:
        if winner in ("a", "b"):
            b_rung = second if a_rung == first else first
            wins[a_rung if winner == "a" else b_rung] += 1
        elif winner == "tie":
            ties += 1
        else:
            both_bad += 1
    decisive, n = wins[first] + wins[second], len(choices)
    return {
        "rungs": [first, second], "n": n, "wins": wins, "ties": ties, "both_bad": both_bad,
        "n_decisive": decisive,
        "win_rate": wins[first] / decisive if decisive else None,  # the first rung's share of decisive choices
        "win_ci": list(wilson_interval(wins[first], decisive)) if decisive else None,
        "tie_share": ties / n, "both_bad_share": both_bad / n,
    }


def _seconds(labels: Sequence[Any]) -> dict[str, Any]:
    timed = [float(x.metadata["seconds"]) for x in labels if isinstance(x.metadata.get("seconds"), (int, float))]
    return {"n": len(labels), "n_timed": len(timed), "seconds_total": float(sum(timed)),
            "seconds_per_label": float(np.mean(timed)) if timed else None}


def human_figures(gens_by_rung: Mapping[str, Sequence[Any]], comparisons: Sequence[Comparison]) -> dict[str, Any] | None:
    """Tier 3's figures over the given rows (rung -> its stored generations, in the report's rung
    order): per-rung pass rates, mean ratings and inter-rater agreement, per-pair A/B win rates,
    and people's seconds per label. None when no person labelled anything there."""
    order = list(gens_by_rung)
    rung_of = {g.id: rung for rung, gens in gens_by_rung.items() for g in gens}
    rungs = [f for f in (_rung_figures(rung, gens) for rung, gens in gens_by_rung.items()) if f is not None]
    by_pair: dict[tuple[str, str], list[tuple[str, str]]] = {}
    chosen = [c for c in human_choices(comparisons)
              if c.a in rung_of and c.b in rung_of and rung_of[c.a] != rung_of[c.b]]
    for c in chosen:
        a_rung, b_rung = rung_of[c.a], rung_of[c.b]
        pair = (a_rung, b_rung) if order.index(a_rung) <= order.index(b_rung) else (b_rung, a_rung)
        by_pair.setdefault(pair, []).append((a_rung, str(c.winner)))
    if not rungs and not by_pair:
        return None
    rated = [a for gens in gens_by_rung.values() for g in gens for a in ratings(g)]
    return {
        "rungs": rungs,
        "ab": [_ab_figures(pair, by_pair[pair]) for pair in sorted(by_pair, key=lambda p: (order.index(p[0]),
                                                                                           order.index(p[1])))],
        "raters": sorted({a.source_name for a in rated} | {c.source_name for c in chosen}),
        "cost": {"ratings": _seconds(rated), "choices": _seconds(chosen), "all": _seconds([*rated, *chosen])},
    }
