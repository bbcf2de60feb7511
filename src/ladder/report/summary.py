"""The run summary: every figure the report shows, computed from the store alone.

`summarize(store, run_id)` returns a plain, JSON-serialisable dict (no NaN, no infinity):
run info, one entry per rung (accuracies with bootstrap intervals, tokens, latency, cost),
the Pareto frontier, the fine-tuning break-even points, and a recommendation.

Scoring rules: an example passes `overall` when every one of its checks passes, and passes
`form` (or `knowledge`) when every check of that tag passes. A failed call (error) is never
counted as a wrong answer: it is left out of the accuracies and counted in `n_errors`. An
accuracy is None when the rung has no check of that tag (overall: no check).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ladder.tracking.costs import break_even_requests, cost_per_1k_requests
from ladder.tracking.store import GenerationRow, RungRow, Store

METRICS = ("form", "knowledge", "overall")
BOOTSTRAP_RESAMPLES = 1000
MAX_FAILURES = 5
MAX_TEXT = 2000  # characters of input/output/reference kept per failed example


def num(x: float, digits: int = 4) -> str:
    """`x` in plain positional notation with up to `digits` significant digits (no 1e-06)."""
    return np.format_float_positional(float(x), precision=digits, unique=True, fractional=False, trim="-")


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _passes(gen: GenerationRow, tag: str) -> bool:
    if gen.error is not None:
        return False
    return all(c.passed for c in gen.checks if tag == "overall" or c.tag == tag)


def _bootstrap_ci(passed: np.ndarray, seed: int) -> list[float]:
    """95% percentile interval of the mean of a 0/1 vector, from seeded resamples."""
    rng = np.random.default_rng(seed)
    n = len(passed)
    means = np.empty(BOOTSTRAP_RESAMPLES)
    block = max(1, 2_000_000 // n)  # bound the index matrix's memory for large eval sets
    for start in range(0, BOOTSTRAP_RESAMPLES, block):
        stop = min(start + block, BOOTSTRAP_RESAMPLES)
        means[start:stop] = passed[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return [float(lo), float(hi)]


def _accuracies(gens: list[GenerationRow], seed: int) -> dict[str, Any]:
    gens = [g for g in gens if g.error is None]
    tags = {c.tag for g in gens for c in g.checks}
    out: dict[str, Any] = {}
    for metric in METRICS:
        has_checks = bool(tags) if metric == "overall" else metric in tags
        if not gens or not has_checks:
            out[f"{metric}_accuracy"], out[f"{metric}_ci"] = None, None
            continue
        passed = np.array([_passes(g, metric) for g in gens], dtype=float)
        out[f"{metric}_accuracy"] = float(passed.mean())
        out[f"{metric}_ci"] = _bootstrap_ci(passed, seed)
    return out


def _failures(gens: list[GenerationRow]) -> list[dict[str, Any]]:
    failed = [g for g in gens if g.error is None and not _passes(g, "overall")][:MAX_FAILURES]
    return [{
        "example_id": g.example_id,
        "input": g.input[:MAX_TEXT],
        "output": g.output[:MAX_TEXT],
        "expected": g.expected[:MAX_TEXT],
        "error": g.error,
        "finish_reason": g.finish_reason,
        "failed_checks": [{"name": c.name, "tag": c.tag, "detail": c.detail} for c in g.checks if not c.passed],
    } for g in failed]


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
        "n_failed": sum(g.error is None and not _passes(g, "overall") for g in gens),
        **_accuracies(gens, spec["seed"]),
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
    entry["failures"] = _failures(gens)
    return entry


def _usable(r: dict[str, Any]) -> bool:
    """A rung that produced results to compare: examples, a quality figure, no rung error."""
    return r["n"] > 0 and r["quality"] is not None and r["cost_per_1k_requests"] is not None and r["error"] is None


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
    n = break_even_requests(build, saved, price)
    head = f"N = {num(build)} / ({num(saved)} tokens x {num(price, 6)} per token)"
    if math.isinf(n):
        why = "saves no prompt tokens" if saved <= 0 else "saves nothing at a zero token price"
        formula = f"{head}: never pays back ({ft['rung']} {why} against {base['rung']})"
    else:
        formula = f"{head} = {num(n, 5)} requests"
    return {"finetune_rung": ft["rung"], "prompt_rung": base["rung"], "saved_prompt_tokens": saved,
            "price_per_token": price, "build_cost": build, "currency": currency,
            "requests": None if math.isinf(n) else n, "formula": formula}


def break_even(rungs: list[dict[str, Any]], prices: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per fine-tune rung, against the best prompt rung (ties: the cheaper)."""
    prompts = [r for r in rungs if r["kind"] == "prompt" and _usable(r)]
    base = min(prompts, key=lambda r: (-r["quality"], r["cost_per_1k_requests"]), default=None)
    return [_break_even(r, base, prices) for r in rungs if r["kind"] == "finetune"]


def recommend(rungs: list[dict[str, Any]], target: dict[str, Any], volume: int,
              currency: str) -> dict[str, Any]:
    """The cheapest rung over `volume` requests (build included) that meets the target;
    if none does, the best-quality rung."""
    goal = f"{target['metric']} >= {num(target['value'])}"
    pts = [r for r in rungs if _usable(r)]
    if not pts:
        return {"rung": None, "meets_target": False, "reason": "no rung produced results to compare"}
    meeting = [r for r in pts if r["meets_target"]]
    if meeting:
        best = min(meeting, key=lambda r: (r["cost_at_volume"], -r["quality"], r["position"]))
        reason = (f"{best['rung']} is the cheapest rung that meets the target ({target['metric']} "
                  f"{num(best['quality'], 3)} >= {num(target['value'])}): {num(best['cost_at_volume'])} "
                  f"{currency} for {volume:,} requests, build included")
    else:
        best = min(pts, key=lambda r: (-r["quality"], r["cost_at_volume"], r["position"]))
        reason = (f"no rung meets the target ({goal}); {best['rung']} comes closest with "
                  f"{target['metric']} {num(best['quality'], 3)}")
    return {"rung": best["rung"], "meets_target": best["meets_target"], "quality": best["quality"],
            "cost_per_1k_requests": best["cost_per_1k_requests"],
            "cost_at_volume": best["cost_at_volume"], "reason": reason}


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
        "seed": int(spec.get("seed", 0)),
    }


def summarize(store: Store, run_id: str) -> dict[str, Any]:
    """Everything the report shows for one run, as a JSON-serialisable dict."""
    run = store.run(run_id)
    spec = _spec_defaults(run["spec"])
    rungs = [_rung_entry(row, store.generations(row.id), spec) for row in store.rung_results(run_id)]
    front = pareto_front(rungs)
    for r in rungs:
        r["on_frontier"] = r["rung"] in front
    currency = spec["prices"]["currency"]
    return {
        "run": {
            "id": run["id"], "task_name": run["task_name"], "task_path": run["task_path"],
            "model": run["model"], "started_at": run["started_at"], "finished_at": run["finished_at"],
            "status": run["status"], "target_metric": spec["target"]["metric"],
            "target_value": spec["target"]["value"], "currency": currency,
            "prices": spec["prices"], "volume": spec["volume"],
        },
        "rungs": rungs,
        "frontier": front,
        "break_even": break_even(rungs, spec["prices"]),
        "recommendation": recommend(rungs, spec["target"], spec["volume"], currency),
    }
