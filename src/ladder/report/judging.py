"""The report's judge figures (tier 2), from the store alone: which judges ran and how they
scored, their coverage per rung, pairwise results, and what judging cost (evaluation cost).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ladder.scoring import judge_cost, pair_verdicts, proportion_interval
from ladder.task.spec import DEFAULT_JUDGE_TAG
from ladder.types import Comparison

COVERAGE_GAP = 0.05  # two rungs whose judge coverage differs by more are compared with a warning
_COST_KEYS = ("verdicts", "prompt_tokens", "completion_tokens", "money", "seconds")


def _add(total: dict[str, float], more: Mapping[str, float]) -> None:
    for k in _COST_KEYS:
        total[k] = total.get(k, 0) + more[k]


def pairwise_summary(comparisons: Sequence[Comparison], rung_of: Mapping[int, str],
                     rungs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per pairwise judge and rung: wins, losses and ties against the judge's `against` rung over
    the pairs asked in both orders (an inconsistent pair is a tie, and counted), errors apart, and
    the share of decided pairs it won with its interval. Adds each pair's cost to the evaluation
    cost of the rung compared."""
    judged = [c for c in comparisons if c.source_kind == "llm_judge" and c.a in rung_of and c.b in rung_of]
    entries = {r["rung"]: r for r in rungs}
    for c in judged:
        _add(entries[rung_of[c.a]]["evaluation_cost"], judge_cost([c]))
    table: dict[tuple[str, str, str], dict[str, Any]] = {}
    for v in pair_verdicts(judged):
        row = table.setdefault((v.source_name, rung_of[v.a], rung_of[v.b]), {
            "judge": v.source_name, "rung": rung_of[v.a], "against": rung_of[v.b], "pairs": 0, "wins": 0,
            "losses": 0, "ties": 0, "inconsistent": 0, "errors": 0})
        row["pairs"] += 1
        if v.error is not None:
            row["errors"] += 1
            continue
        row["wins" if v.winner == "a" else "losses" if v.winner == "b" else "ties"] += 1
        row["inconsistent"] += v.consistent is False
    for row in table.values():
        decided = [True] * row["wins"] + [False] * (row["losses"] + row["ties"])
        row["win_rate"] = sum(decided) / len(decided) if decided else None
        row["win_rate_ci"] = proportion_interval(decided) if decided else None
    return list(table.values())


def evaluation_cost(rungs: list[dict[str, Any]]) -> dict[str, Any]:
    """What judging cost over the run (every rung's verdicts, pairwise ones included)."""
    total: dict[str, float] = {}
    for r in rungs:
        if r.get("evaluation_cost"):
            _add(total, r["evaluation_cost"])
    return {**{k: total.get(k, 0) for k in _COST_KEYS},
            "note": "evaluation cost: what the judges' calls cost, apart from each rung's build and serving cost"}


def judges_summary(spec: Mapping[str, Any], rungs: list[dict[str, Any]],
                   diagnoses: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's judges as configured, with the scoring each actually used and its coverage per
    rung; and what the diagnosis's thin class rests on (a sufficiency judge, or the heuristic)."""
    out = []
    for raw in spec.get("judges") or []:  # as the run recorded them (every field, defaults included)
        name, kind = raw["name"], raw["kind"]
        used: dict[str, int] = {}
        per_rung = {}
        for r in rungs:
            seen = r.get("judges", {}).get(name)
            if seen is not None:
                per_rung[r["rung"]] = {"coverage": seen["coverage"], "errors": seen["errors"],
                                       "verdicts": seen["verdicts"], "n_answered": seen["n_answered"]}
                for how, n in seen["scoring"].items():
                    used[how] = used.get(how, 0) + n
        model = raw.get("model") or {}
        out.append({"name": name, "kind": kind,
                    "tag": None if kind == "pairwise" else raw.get("tag") or DEFAULT_JUDGE_TAG.get(kind, name),
                    "model": model.get("path") or model.get("name") or "the task's model",
                    "scoring": raw.get("scoring", "argmax") if kind != "pairwise" else None, "scoring_used": used,
                    "against": raw.get("against"), "retries": raw.get("retries"), "rungs": per_rung})
    thin = sorted({d["judge"] for d in diagnoses if d.get("judge")})
    return {"configured": out, "thin_judged_by": thin}


def coverage_gap(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """A warning when some judge covers the two rungs' answers more than COVERAGE_GAP apart."""
    gaps = []
    for name in [*a.get("judges", {}), *(n for n in b.get("judges", {}) if n not in a.get("judges", {}))]:
        ca = (a.get("judges", {}).get(name) or {}).get("coverage") or 0.0
        cb = (b.get("judges", {}).get(name) or {}).get("coverage") or 0.0
        if abs(ca - cb) > COVERAGE_GAP:
            gaps.append(f"judge {name} covers {ca:.0%} of {a['rung']}'s answers and {cb:.0%} of {b['rung']}'s")
    if not gaps:
        return None
    return "; ".join(gaps) + ": they are not scored on the same rows, read the comparison with care"


def coverage_gaps(rungs: list[dict[str, Any]], advice: dict[str, Any], found: list[dict[str, Any]]) -> None:
    """Mark each comparison of two rungs (the recommendation's, retrieval's) whose judge coverage
    differs by more than COVERAGE_GAP: a `judge_coverage_note`, also appended to its text."""
    by_name = {r["rung"]: r for r in rungs}
    for c in [*advice.get("comparisons", []), *found]:
        names = c.get("rungs") or []
        if len(names) != 2 or names[0] not in by_name or names[1] not in by_name:
            continue
        note = coverage_gap(by_name[names[0]], by_name[names[1]])
        if note is not None:
            c["judge_coverage_note"] = note
            c["text"] = f"{c['text']} ({note})"
