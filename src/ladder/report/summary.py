"""The run summary: every figure the report shows, computed from the store alone.

`summarize(store, run_id)` returns a plain, JSON-serialisable dict (no NaN, no infinity):
run info, one entry per rung (accuracies with bootstrap intervals, tokens, latency, cost),
the Pareto frontier, the fine-tuning break-even points, the diagnosis of the remaining failures
per rung and the recommendation (both from ladder.diagnosis).

Scoring rules (ladder.scoring): per example and tag the outcome is pass, fail, unscored (no
assessment of that tag gave a verdict) or error (the model call failed). Accuracies are the share
of pass among pass and fail; a failed call is counted in `n_errors` and an example the checks
could not score in `n_unscored`. An accuracy is None when no example is scored on that tag.
Teacher rows (kind "teacher") are evidence for the diagnosis, not rungs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ladder.diagnosis import CLASSES, AdviceOptions, Judge, diagnose, recommend
from ladder.diagnosis.recommend import usable as _usable
from ladder.stats import overlap
from ladder.diagnosis.teacher import TEACHER_KIND
from ladder.report.retrieval import comparisons, retrieval_summary
from ladder.scoring import accuracies, assessment_rates, coverage, outcome, pass_table
from ladder.tracking.costs import break_even_requests, cost_per_1k_requests
from ladder.tracking.store import GenerationRow, RungRow, Store

def num(x: float, digits: int = 4) -> str:
    """`x` in plain positional notation with up to `digits` significant digits (no 1e-06)."""
    return np.format_float_positional(float(x), precision=digits, unique=True, fractional=False, trim="-")


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _rung_entry(row: RungRow, gens: list[GenerationRow], spec: dict[str, Any]) -> dict[str, Any]:
    prices, target = spec["prices"], spec["target"]
    prompt_tokens = _mean([g.prompt_tokens for g in gens])
    completion_tokens = _mean([g.completion_tokens for g in gens])
    cost = None
    if prompt_tokens is not None and completion_tokens is not None:
        cost = cost_per_1k_requests(prompt_tokens, completion_tokens,
                                    prices["input_per_1k"], prices["output_per_1k"])
    entry: dict[str, Any] = {
        "rung": row.rung, "position": row.position, "kind": row.kind, "status": row.status,
        "error": row.error, "description": row.candidate.get("description", ""), "n": len(gens),
        "n_errors": sum(g.error is not None for g in gens),
        "n_unscored": coverage(gens, "overall").n_unscored,
        "n_failed": sum(outcome(g, "overall") == "fail" for g in gens),
        **accuracies(gens, spec["seed"]),
        "check_rates": assessment_rates(gens),
        "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
        "latency_s": _mean([g.latency_s for g in gens]),
        "cached_share": _mean([float(g.cached) for g in gens]),
        "build_seconds": row.build_seconds, "build_money": row.build_money,
        "build_tokens": row.build_tokens, "build_reused": row.build_reused,
        "eval_seconds": row.eval_seconds, "cost_per_1k_requests": cost,
        # everything spent to serve `volume` requests with this rung, build included
        "cost_at_volume": None if cost is None else cost * spec["volume"] / 1000 + row.build_money,
    }
    entry["quality"] = entry[f"{target['metric']}_accuracy"]
    entry["quality_ci"] = entry[f"{target['metric']}_ci"]
    entry["meets_target"] = entry["quality"] is not None and entry["quality"] >= target["value"]
    return entry


def pareto_front(rungs: list[dict[str, Any]]) -> list[str]:
    """Rungs no other rung beats: none has <= cost and >= quality with one of them strict."""
    pts = [r for r in rungs if _usable(r)]

    def dominated(a: dict[str, Any]) -> bool:
        ca, qa = a["cost_per_1k_requests"], a["quality"]
        return any(b["cost_per_1k_requests"] <= ca and b["quality"] >= qa
                   and (b["cost_per_1k_requests"] < ca or b["quality"] > qa) for b in pts)

    return [r["rung"] for r in pts if not dominated(r)]


def _break_even(ft: dict[str, Any], base: dict[str, Any] | None, prices: dict[str, Any]) -> dict[str, Any]:
    currency = prices["currency"]
    if base is None or ft["prompt_tokens"] is None:
        return {"finetune_rung": ft["rung"], "prompt_rung": None, "saved_prompt_tokens": None,
                "price_per_token": None, "build_cost": ft["build_money"], "currency": currency,
                "requests": None, "formula": "no prompt rung with results to compare against"}
    saved = base["prompt_tokens"] - ft["prompt_tokens"]
    price = prices["input_per_1k"] / 1000
    build = ft["build_money"]
    n = break_even_requests(0.0, saved * price, build, 0.0)  # the prompt rung builds for free
    head = f"N = {num(build)} / ({num(saved)} tokens x {num(price, 6)} per token)"
    if n is None:
        why = "saves no prompt tokens" if saved <= 0 else "saves nothing at a zero token price"
        formula = f"{head}: never pays back ({ft['rung']} {why} against {base['rung']})"
    else:
        formula = f"{head} = {num(n, 5)} requests"
    return {"finetune_rung": ft["rung"], "prompt_rung": base["rung"], "saved_prompt_tokens": saved,
            "price_per_token": price, "build_cost": build, "currency": currency,
            "requests": n, "formula": formula}


def break_even(rungs: list[dict[str, Any]], prices: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per fine-tune rung, against the cheapest prompt rung whose quality interval
    overlaps the fine-tune's (the prompt rung it could replace); when none overlaps, against
    the best prompt rung (ties: the cheaper)."""
    prompts = [r for r in rungs if r["kind"] == "prompt" and _usable(r)]
    out = []
    for ft in (r for r in rungs if r["kind"] == "finetune"):
        similar = [p for p in prompts if _usable(ft) and overlap(p.get("quality_ci"), ft.get("quality_ci"))]
        if similar:
            base = min(similar, key=lambda r: (r["cost_per_1k_requests"], -r["quality"]))
            basis = "the cheapest prompt rung of overlapping quality"
        else:
            base = min(prompts, key=lambda r: (-r["quality"], r["cost_per_1k_requests"]), default=None)
            basis = "the best prompt rung (none has overlapping quality)"
        out.append({**_break_even(ft, base, prices), "basis": basis if base else ""})
    return out


def _spec_defaults(spec: dict[str, Any]) -> dict[str, Any]:
    """The figures the report needs from the run's spec, with TaskSpec's defaults."""
    prices, target = spec.get("prices") or {}, spec.get("target") or {}
    return {
        "prices": {"currency": prices.get("currency", "USD"),
                   "input_per_1k": float(prices.get("input_per_1k", 0.0)),
                   "output_per_1k": float(prices.get("output_per_1k", 0.0)),
                   "train_per_hour": float(prices.get("train_per_hour", 0.0))},
        "target": {"metric": target.get("metric", "overall"), "value": float(target.get("value", 0.9))},
        "volume": int(spec.get("volume", 100_000)),
        "budget": (spec.get("budget") or {}).get("money"),
        "seed": int(spec.get("seed", 0)),
    }


def _with_options(spec: dict[str, Any], options: AdviceOptions) -> dict[str, Any]:
    """The spec figures with `ladder recommend`'s overrides applied."""
    out = {**spec, "target": dict(spec["target"])}
    if options.target is not None:
        out["target"]["value"] = options.target
    if options.volume is not None:
        out["volume"] = options.volume
    if options.budget is not None:
        out["budget"] = options.budget
    return out


def summarize(store: Store, run_id: str, options: AdviceOptions | None = None,
              judge: Judge | None = None) -> dict[str, Any]:
    """Everything the report shows for one run, as a JSON-serialisable dict. `options` changes
    the target, volume, budget or scenario of the advice (nothing is re-run); `judge` replaces
    the thin-answer heuristic (e.g. stored LLM-judge or human verdicts)."""
    options = options or AdviceOptions()
    run = store.run(run_id)
    spec = _with_options(_spec_defaults(run["spec"]), options)
    rows = [row for row in store.rung_results(run_id) if row.kind != TEACHER_KIND]
    gens = {row.id: store.generations(row.id) for row in rows}
    rungs = [_rung_entry(row, gens[row.id], spec) for row in rows]
    for row, r in zip(rows, rungs):
        r["retrieval"] = retrieval_summary(store.retrievals(row.id), gens[row.id])
    front = pareto_front(rungs)
    for r in rungs:
        r["on_frontier"] = r["rung"] in front
    currency = spec["prices"]["currency"]
    diagnoses = [d.to_dict() for d in diagnose(store, run_id, judge)]
    advice = recommend(rungs, spec["target"], spec["volume"], currency, options.scenario, spec["budget"],
                       {d["rung"]: d["next_step"] for d in diagnoses})
    by_rung = {b["finetune_rung"]: b for b in break_even(rungs, spec["prices"])}
    return {
        "run": {
            "id": run["id"], "task_name": run["task_name"], "task_path": run["task_path"],
            "model": run["model"], "started_at": run["started_at"], "finished_at": run["finished_at"],
            "status": run["status"], "target_metric": spec["target"]["metric"],
            "target_value": spec["target"]["value"], "currency": currency,
            "prices": spec["prices"], "volume": spec["volume"], "budget": spec["budget"],
            "scenario": options.scenario,
        },
        "rungs": rungs,
        "frontier": front,
        "break_even": list(by_rung.values()),
        "comparisons": comparisons(rungs, {r["rung"]: pass_table(gens[row.id]) for row, r in zip(rows, rungs)},
                                   spec["seed"]),
        "recommendation": advice,
        "diagnosis": diagnoses,
        "failure_classes": {c: d for c, d in CLASSES.items()},
        "environment": run["environment"],  # what ran, where; None when the run did not record it
    }
