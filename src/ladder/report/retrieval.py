"""Retrieval figures for the report, from the store alone: recall@k and MRR per retrieval rung,
whether the gold chunk was retrieved for the wrong answers, and paired comparisons (exact
McNemar, Newcombe interval, Holm-adjusted) of the best retrieval rung against every rung without
retrieval. The best retrieval rung is chosen on the dev rows when the run has a selection split.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ladder.scoring import outcome
from ladder.stats import compare_one_to_many
from ladder.tracking.store import GenerationRow
from ladder.types import Retrieval


def _wrong(g: GenerationRow) -> bool:
    """Wrong in meaning: a knowledge check failed (or any check, when the example has none)."""
    tag = "knowledge" if any(a.tag == "knowledge" for a in g.assessments) else "overall"
    return outcome(g, tag) == "fail"


def retrieval_summary(retrievals: dict[int, Retrieval], gens: list[GenerationRow]) -> dict[str, Any] | None:
    """recall@k, MRR (over examples with a gold source) and gold-retrieved counts for wrong answers."""
    if not retrievals:
        return None
    with_gold = [r for r in retrievals.values() if r.gold]
    wrong = [g for g in gens if g.id in retrievals and retrievals[g.id].gold and _wrong(g)]
    retrieved = sum(any(h.is_gold for h in retrievals[g.id].hits) for g in wrong)
    ks = sorted({r.k for r in retrievals.values()})

    def avg(values: list[float | None]) -> float | None:
        vals = [v for v in values if v is not None]
        return float(np.mean(vals)) if vals else None

    return {
        "k": ks[0] if len(ks) == 1 else ks,
        "n_queries": len(retrievals),
        "n_with_gold": len(with_gold),
        "recall_at_k": avg([r.recall for r in with_gold]),
        "mrr": avg([r.reciprocal_rank for r in with_gold]),
        "wrong_with_gold": len(wrong),
        "wrong_gold_retrieved": retrieved,
        "wrong_gold_missed": len(wrong) - retrieved,
    }


def comparisons(rungs: list[dict[str, Any]], passes: dict[str, dict[str, dict[str, bool]]]) -> list[dict[str, Any]]:
    """The best retrieval rung (by knowledge accuracy on the dev rows, or on every row without a
    selection split) against every rung without retrieval, on the reported rows.

    `passes[rung][metric][example_id]` says whether that reported (test) row passed that metric.
    """
    def picked_on(r: dict[str, Any]) -> float | None:
        dev = r.get("dev_knowledge_accuracy")
        return r.get("knowledge_accuracy") if dev is None else dev

    rag = [r for r in rungs if r.get("retrieval") and picked_on(r) is not None]
    if not rag:
        return []
    best = max(rag, key=lambda r: (picked_on(r), -r["position"]))
    others = {o["rung"]: passes[o["rung"]]["knowledge"] for o in rungs
              if not o.get("retrieval") and o.get("knowledge_accuracy") is not None and o["status"] == "ok"}
    found = compare_one_to_many(best["rung"], passes[best["rung"]]["knowledge"], others)
    return [{"rung": best["rung"], "baseline": c["rungs"][1], "metric": "knowledge",  # type: ignore[index]
             "of_retrieval_rungs": len(rag), **c} for c in found]


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def retrieval_table(summary: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    headers = ["rung", "k", "examples with gold", "recall@k", "MRR", "knowledge acc",
               "wrong answers: gold retrieved / missed"]
    rows = []
    for r in summary["rungs"]:
        s = r.get("retrieval")
        if not s:
            continue
        rows.append([r["rung"], str(s["k"]), f"{s['n_with_gold']} of {s['n_queries']}", _pct(s["recall_at_k"]),
                     "—" if s["mrr"] is None else f"{s['mrr']:.3f}", _pct(r.get("knowledge_accuracy")),
                     f"{s['wrong_gold_retrieved']} / {s['wrong_gold_missed']}"])
    return headers, rows


def comparison_lines(summary: dict[str, Any]) -> list[str]:
    found = summary.get("comparisons", [])
    if not found:
        return []
    head = (f"knowledge accuracy of the best of {found[0]['of_retrieval_rungs']} retrieval rung(s) against each "
            f"rung without retrieval (paired, on the reported rows; {len(found)} comparison(s)"
            + (", Holm-adjusted)" if len(found) > 1 else ")"))
    return [head] + [c["text"] for c in found]
