"""The judge card: is this judge worth trusting? Measured from what is stored, like an instrument.

A judge's verdicts are Assessments with source_kind `llm_judge` (grouped by name); a pairwise
judge's are Comparisons with source_kind `llm_judge` (grouped by source_name, one per order it
asked, paired by metadata["pair"]). For every judge, over every rung's answers:

- against a reference signal, where one exists on the same answers: people's labels (the
  majority label of the `review` ratings of an answer; ladder.scoring_human.consensus) and the
  tier-1 checks (`code` assessments) of the judge's tag (pass when every such check passes):
  raw agreement (Wilson interval), Cohen's kappa with its 95% interval (ladder.stats.cohen_kappa),
  the confusion matrix (rows: the judge; columns: the reference), n. A pairwise judge is compared
  with people's A/B choices on the same two answers (labels: which answer won, or tie; a
  both_bad choice reads as a tie);
- for a pairwise judge: swap consistency (share of pairs asked in both orders whose two verdicts
  name the same winner), position bias (share of decisive verdicts won by the answer shown first:
  0.5 is no bias); an inconsistent pair counts as a tie, and is counted;
- error coverage (verdicts / times asked; judge_error count) and cost per verdict (every ask's
  tokens and money, failed ones included, over the verdicts obtained).

If a judge says it was calibrated on labels (metadata["calibration_ids"]: generation ids, or
example ids), those answers are left out of its agreement figures: the card measures it on labels
it did not see.

Trust: the first reference, people's labels before tier-1 checks, that gives a kappa decides: a
95% lower bound below `trust_kappa` (task.yaml judge_trust_kappa) marks the judge `untrusted`,
else `trusted`. Without a reference signal (or with kappa undefined) trust is `unknown`, and the
card says so.
"""

from __future__ import annotations

from typing import Any, Hashable, Mapping, Sequence

from ladder.scoring_human import consensus, human_choices
from ladder.stats import agreement, wilson_interval
from ladder.types import Assessment, Comparison

DEFAULT_TRUST_KAPPA = 0.4
NO_REFERENCE = "no reference signal: trust unknown"
PASS_FAIL = [True, False]
PAIR_LABELS = ["first", "second", "tie"]  # which of a pair's two answers (lower generation id first) won


def _cost(asked: Sequence[Assessment | Comparison], verdicts: int) -> dict[str, Any]:
    money = sum(x.cost.money for x in asked)
    tokens = sum(x.cost.prompt_tokens + x.cost.completion_tokens for x in asked)
    seconds = sum(x.cost.latency_s for x in asked)
    per = (lambda total: total / verdicts if verdicts else None)
    return {"money_total": money, "money_per_verdict": per(money), "tokens_per_verdict": per(tokens),
            "latency_s_per_verdict": per(seconds)}


def _coverage(asked: int, errors: int) -> dict[str, Any]:
    return {"asked": asked, "verdicts": asked - errors, "judge_errors": errors,
            "coverage": (asked - errors) / asked if asked else None}


def _trust(references: Mapping[str, dict[str, Any] | None], trust_kappa: float) -> dict[str, Any]:
    """The trust verdict from the first reference with a kappa (people before tier-1 checks)."""
    present = {name: ref for name, ref in references.items() if ref and ref["n"]}
    for name, ref in present.items():
        if ref["kappa"] is not None:
            low = ref["kappa_ci"][0]
            trusted = low >= trust_kappa
            text = (f"kappa against {name} {ref['kappa']:.2f} [95% CI {low:.2f} to {ref['kappa_ci'][1]:.2f}], "
                    f"n = {ref['n']}: lower bound {'at or above' if trusted else 'below'} {trust_kappa:g}")
            return {"trust": "trusted" if trusted else "untrusted", "trust_basis": name, "trust_text": text}
    if present:
        reasons = "; ".join(f"{name}: kappa undefined ({ref['kappa_undefined']})" for name, ref in present.items())
        return {"trust": "unknown", "trust_basis": None, "trust_text": f"trust unknown: {reasons}"}
    return {"trust": "unknown", "trust_basis": None, "trust_text": NO_REFERENCE}


def _calibration_ids(verdicts: Sequence[Assessment | Comparison]) -> set[Hashable]:
    ids: set[Hashable] = set()
    for v in verdicts:
        ids |= {i for i in v.metadata.get("calibration_ids") or () if isinstance(i, (int, str))}
    return ids


def _latest(gen: Any, name: str) -> Assessment | None:
    found = [a for a in gen.assessments if a.source_kind == "llm_judge" and a.name == name]
    return found[-1] if found else None


def _checks_label(gen: Any, tag: str) -> bool | None:
    """Tier 1's label of an answer on `tag`: pass when every check of the tag that gave a verdict
    passes; None when none did."""
    verdicts = [a.verdict for a in gen.assessments if a.source_kind == "code" and a.tag == tag and a.verdict is not None]
    return all(verdicts) if verdicts else None


def _versus(pairs: list[tuple[Any, Any]], labels: list[Any]) -> dict[str, Any] | None:
    if not pairs:
        return None
    return agreement([p[0] for p in pairs], [p[1] for p in pairs], labels)


def answer_judge_card(name: str, gens: Sequence[Any], trust_kappa: float = DEFAULT_TRUST_KAPPA) -> dict[str, Any]:
    """The card of a judge of single answers (rubric, reference, sufficiency), over `gens`."""
    asked = [a for g in gens for a in g.assessments if a.source_kind == "llm_judge" and a.name == name]
    if not asked:
        raise ValueError(f"no verdict of a judge named {name!r} on these answers")
    first = asked[0]
    errors = sum(a.error is not None for a in asked)
    verdicts = sum(a.verdict is not None for a in asked)
    held = _calibration_ids(asked)
    versus_people, versus_checks = [], []
    n_calibration = 0
    for g in gens:
        mine = _latest(g, name)
        if mine is None or mine.verdict is None or g.error is not None:
            continue
        if g.id in held or g.example_id in held:
            n_calibration += 1
            continue
        if (person := consensus(g)) is not None:
            versus_people.append((mine.verdict, person))
        if (check := _checks_label(g, first.tag)) is not None:
            versus_checks.append((mine.verdict, check))
    references = {"people": _versus(versus_people, PASS_FAIL), "checks": _versus(versus_checks, PASS_FAIL)}
    passed = [a.verdict for a in asked if a.verdict is not None]
    return {
        "name": name, "kind": first.metadata.get("judge_kind", "answer"), "tag": first.tag,
        "model": first.metadata.get("model", first.source_name), "scoring": first.metadata.get("scoring"),
        **_coverage(len(asked), errors), "pass_rate": sum(passed) / len(passed) if passed else None,
        "cost": _cost(asked, verdicts), "n_calibration_excluded": n_calibration,
        "versus": references, **_trust(references, trust_kappa),
    }


def _pair_key(c: Comparison) -> Hashable:
    pair = c.metadata.get("pair")
    return (c.source_name, pair if pair is not None else (min(c.a, c.b), max(c.a, c.b)))


def _winner_id(c: Comparison) -> int | None:
    """The generation that won, or None for a tie (a both_bad choice too)."""
    return c.a if c.winner == "a" else c.b if c.winner == "b" else None


def _pair_label(low: int, winner: int | None) -> str:
    return "tie" if winner is None else "first" if winner == low else "second"


def resolved_pairs(comparisons: Sequence[Comparison]) -> list[dict[str, Any]]:
    """Every pair a pairwise judge asked about, resolved from its verdicts in both orders.

    One entry per (judge, pair): `a`, `b` (the generations, lower id first), `outcome` the
    winning generation id or None for a tie, `status` consistent | inconsistent (two orders,
    different winners: read as a tie) | incomplete (an order is missing or errored: no outcome).
    When an order was asked more than once, its latest verdict counts.
    """
    groups: dict[Hashable, dict[int, Comparison]] = {}
    for c in comparisons:
        if c.source_kind == "llm_judge":  # each order keyed by the answer shown first; the latest counts
            groups.setdefault(_pair_key(c), {})[c.a if c.first_shown == "a" else c.b] = c
    out = []
    for (judge, _), orders in groups.items():
        any_c = next(iter(orders.values()))
        low, high = min(any_c.a, any_c.b), max(any_c.a, any_c.b)
        answered = [c for c in orders.values() if c.error is None and c.winner is not None]
        winners = {_winner_id(c) for c in answered}
        if len(answered) < 2 or len(orders) < 2:
            status, outcome = "incomplete", None
        elif len(winners) == 1:
            status, outcome = "consistent", winners.pop()
        else:
            status, outcome = "inconsistent", None
        out.append({"judge": judge, "a": low, "b": high, "status": status, "outcome": outcome})
    return out


def pairwise_judge_card(name: str, comparisons: Sequence[Comparison],
                        trust_kappa: float = DEFAULT_TRUST_KAPPA) -> dict[str, Any]:
    """The card of a pairwise judge: swap consistency, position bias, agreement with people's A/B
    choices on the same answers, coverage and cost."""
    asked = [c for c in comparisons if c.source_kind == "llm_judge" and c.source_name == name]
    if not asked:
        raise ValueError(f"no pairwise verdict of a judge named {name!r}")
    answered = [c for c in asked if c.error is None and c.winner is not None]
    decisive = [c for c in answered if c.winner in ("a", "b")]
    first_wins = sum(c.winner == c.first_shown for c in decisive)
    pairs = [p for p in resolved_pairs(asked) if p["judge"] == name]
    both = [p for p in pairs if p["status"] != "incomplete"]
    consistent = sum(p["status"] == "consistent" for p in both)
    held = _calibration_ids(asked)
    people: dict[tuple[int, int], list[str]] = {}
    for c in human_choices(comparisons):
        low = min(c.a, c.b)
        people.setdefault((low, max(c.a, c.b)), []).append(_pair_label(low, _winner_id(c)))
    versus = []
    n_calibration = 0
    for p in both:
        labels = people.get((p["a"], p["b"]), [])
        if p["a"] in held or p["b"] in held:
            n_calibration += 1
            continue
        majority = max(PAIR_LABELS, key=labels.count) if labels else None
        if majority is not None and 2 * labels.count(majority) > len(labels):
            versus.append((_pair_label(p["a"], p["outcome"]), majority))
    references = {"people": _versus(versus, PAIR_LABELS)}
    return {
        "name": name, "kind": "pairwise", "tag": None, "model": asked[0].metadata.get("model", name), "scoring": None,
        **_coverage(len(asked), len(asked) - len(answered)),
        "n_pairs": len(pairs), "n_pairs_both_orders": len(both), "n_consistent": consistent,
        "n_inconsistent": len(both) - consistent, "n_incomplete": len(pairs) - len(both),
        "n_tie_verdicts": sum(c.winner == "tie" for c in answered),
        "swap_consistency": consistent / len(both) if both else None,
        "swap_consistency_ci": list(wilson_interval(consistent, len(both))) if both else None,
        "n_decisive": len(decisive), "first_position_wins": first_wins,
        "position_bias": first_wins / len(decisive) if decisive else None,
        "position_bias_ci": list(wilson_interval(first_wins, len(decisive))) if decisive else None,
        "cost": _cost(asked, len(answered)), "n_calibration_excluded": n_calibration,
        "versus": references, **_trust(references, trust_kappa),
    }


def judge_cards(gens: Sequence[Any], comparisons: Sequence[Comparison],
                trust_kappa: float = DEFAULT_TRUST_KAPPA) -> list[dict[str, Any]]:
    """One card per judge found in the stored verdicts (answer judges in the order first seen,
    then pairwise judges); empty when no judge gave any. `gens`: every rung's stored answers."""
    names: list[str] = []
    for g in gens:
        names += [a.name for a in g.assessments if a.source_kind == "llm_judge" and a.name not in names]
    pairwise: list[str] = []
    for c in comparisons:
        if c.source_kind == "llm_judge" and c.source_name not in pairwise:
            pairwise.append(c.source_name)
    return ([answer_judge_card(n, gens, trust_kappa) for n in names]
            + [pairwise_judge_card(n, comparisons, trust_kappa) for n in pairwise])
