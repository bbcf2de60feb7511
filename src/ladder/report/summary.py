"""The run summary: every figure the report shows, computed from the store alone.

`summarize(store, run_id)` returns a plain, JSON-serialisable dict (no NaN, no infinity):
run info, one entry per rung (accuracies with Wilson 95% intervals, errors and coverage, tokens,
latency, cost), the Pareto frontier, the fine-tuning break-even points, the diagnosis of the
remaining failures per rung and the recommendation (both from ladder.diagnosis), and the tiers
above the checks: a card per LLM judge (ladder.scoring_judges), people's figures
(ladder.scoring_human) and the Bradley-Terry rankings from pairwise votes (ladder.scoring_ranking).

Scoring rules (ladder.scoring): per example and tag the outcome is pass, fail, unscored (no
assessment of that tag gave a verdict) or error (the model call failed). The per-tag accuracies
are the share of pass among pass and fail; `quality`, the figure compared with the target, counts
a failed call as a failure (passes / rows attempted). Token, latency and cost means are over the
answered rows. Teacher rows (kind "teacher") are evidence for the diagnosis, not rungs.

LLM judges (tier 2) count like checks of their tag; a judge_error is neither pass nor fail. Each
rung shows its judge coverage (verdicts / answered rows) and judge errors; a comparison of two
rungs whose judge coverage differs by more than report.judging.COVERAGE_GAP says so. What judges cost is
evaluation cost, apart from a rung's build and serving cost (`evaluation_cost`).

With a selection split (task.yaml `data.dev` or `selection.dev_fraction`, recorded in the run's
spec as `selection.dev_ids`) every figure of a rung comes from the test rows (the eval rows that
are not dev rows), and `dev_quality` is its quality on the dev rows, on which the recommendation
and the best retrieval rung are chosen.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ladder.diagnosis import CLASSES, AdviceOptions, Judge, diagnose, recommend
from ladder.diagnosis.recommend import selection_meets, usable as _usable
from ladder.diagnosis.teacher import TEACHER_KIND
from ladder.report.retrieval import comparisons, retrieval_summary
from ladder.report.judging import coverage_gaps, evaluation_cost, judges_summary, pairwise_summary
from ladder.scoring import (INTERVAL_METHOD, accuracies, answered, assessment_rates, coverage, error_codes, extra_tags,
                            judge_coverage, outcome, pass_table, proportion_interval, rung_judge_cost, tag_accuracies,
                            target_outcomes, target_quality)
from ladder.scoring_human import human_figures
from ladder.scoring_judges import DEFAULT_TRUST_KAPPA, judge_cards
from ladder.scoring_ranking import pairwise_rankings
from ladder.task.spec import PriceSpec
from ladder.tracking.costs import break_even_requests, price_factor, rung_request_cost
from ladder.tracking.store import GenerationRow, RungRow, Store

NOT_RECORDED = "not recorded"


def num(x: float, digits: int = 4) -> str:
    """`x` in plain positional notation with up to `digits` significant digits (no 1e-06)."""
    return np.format_float_positional(float(x), precision=digits, unique=True, fractional=False, trim="-")


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _rung_entry(row: RungRow, gens: list[GenerationRow], spec: dict[str, Any]) -> dict[str, Any]:
    prices, target = spec["prices"], spec["target"]
    metric, dev_ids = target["metric"], spec["selection"]["dev_ids"]
    test = [g for g in gens if g.example_id not in dev_ids]
    dev = [g for g in gens if g.example_id in dev_ids]
    replied = answered(gens)
    prompt_tokens = _mean([g.prompt_tokens for g in replied])
    completion_tokens = _mean([g.completion_tokens for g in replied])
    cost = live_cost = None
    # rows answered through a Batch API (execution: batch) cost the endpoint's batch price
    batch = row.candidate.get("execution") == "batch"
    if prompt_tokens is not None and completion_tokens is not None:
        # a climb of several models (`models:`) records each row's own model prices
        own = prices if row.prices is None else row.prices
        live_cost = 1000 * rung_request_cost(prompt_tokens, completion_tokens, PriceSpec.model_validate(own),
                                             finetuned=row.kind == "finetune")
        cost = live_cost * price_factor(row.candidate)
    covered = coverage(test, metric)
    quality = target_quality(test, metric)
    dev_quality = target_quality(dev, metric) if dev_ids else None
    entry: dict[str, Any] = {
        "rung": row.rung, "model": row.model, "position": row.position, "kind": row.kind, "status": row.status,
        "error": row.error, "description": row.candidate.get("description", ""), "n": len(test),
        "n_dev": len(dev), "n_errors": covered.n_errors,
        "error_codes": error_codes(test), "n_unscored": covered.n_unscored,
        "coverage": covered.n_answered / covered.n if covered.n else None,
        "n_failed": sum(outcome(g, "overall") == "fail" for g in test),
        **accuracies(test),
        "check_rates": assessment_rates(test),
        "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
        "latency_s": _mean([g.latency_s for g in replied]),
        "cached_share": _mean([float(g.cached) for g in gens]),
        "build_seconds": row.build_seconds, "build_money": row.build_money,
        "build_tokens": row.build_tokens, "build_call_tokens": row.build_call_tokens, "build_reused": row.build_reused,
        "build_notes": row.build_notes,
        "eval_seconds": row.eval_seconds, "eval_stop": row.eval_stop, "cost_per_1k_requests": cost,
        "execution": "batch" if batch else "live", "live_cost_per_1k_requests": live_cost,
        # everything spent to serve `volume` requests with this rung, build included
        "cost_at_volume": None if cost is None else cost * spec["volume"] / 1000 + row.build_money,
        # the target's figure: passes / rows attempted on the test rows (a failed call is a failure)
        "quality": quality,
        "quality_ci": proportion_interval(list(target_outcomes(test, metric).values())) if quality is not None else None,
        "meets_target": quality is not None and quality >= target["value"],
        "dev_quality": dev_quality,
        "dev_meets_target": None if dev_quality is None else dev_quality >= target["value"],
        "dev_knowledge_accuracy": accuracies(dev)["knowledge_accuracy"] if dev_ids else None,
        # accuracies on the tags of judges (e.g. helpfulness), beyond form and knowledge
        "tag_accuracies": tag_accuracies(test, extra_tags(gens)),
    }
    judged = judge_coverage(test)
    entry["judges"] = judged
    entry["judge_coverage"] = min((j["coverage"] for j in judged.values() if j["coverage"] is not None), default=None)
    entry["judge_errors"] = sum(j["errors"] for j in judged.values())
    # what the judges' verdicts on every row of this rung cost (pairwise ones are added by summarize)
    entry["evaluation_cost"] = rung_judge_cost(gens)
    return entry


def pareto_front(rungs: list[dict[str, Any]]) -> list[str]:
    """Rungs no other rung beats: none has <= cost and >= quality with one of them strict."""
    pts = [r for r in rungs if _usable(r)]

    def dominated(a: dict[str, Any]) -> bool:
        ca, qa = a["cost_per_1k_requests"], a["quality"]
        return any(b["cost_per_1k_requests"] <= ca and b["quality"] >= qa
                   and (b["cost_per_1k_requests"] < ca or b["quality"] > qa) for b in pts)

    return [r["rung"] for r in pts if not dominated(r)]


def _not_applicable(ft: dict[str, Any], currency: str, why: str) -> dict[str, Any]:
    return {"finetune_rung": ft["rung"], "baseline_rung": None, "applies": False, "currency": currency,
            "build_cost": ft["build_money"], "baseline_build_cost": None, "cost_per_request": None,
            "baseline_cost_per_request": None, "requests": None, "formula": f"{why}: break-even does not apply"}


def _break_even(ft: dict[str, Any], rungs: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    if not _usable(ft):
        return _not_applicable(ft, currency, f"{ft['rung']} has no results")
    if not selection_meets(ft):
        return _not_applicable(ft, currency, f"{ft['rung']} does not meet the target")
    cheaper = [r for r in rungs if r is not ft and _usable(r) and selection_meets(r)
               and r["build_money"] <= ft["build_money"]]
    if not cheaper:
        return _not_applicable(ft, currency, f"no cheaper-to-build rung than {ft['rung']} reaches the target")
    # the one it has to beat: the cheaper build that costs least over the task's volume
    base = min(cheaper, key=lambda r: (r["cost_at_volume"], r["cost_per_1k_requests"], r["position"]))
    per_a, per_b = base["cost_per_1k_requests"] / 1000, ft["cost_per_1k_requests"] / 1000
    build_a, build_b = base["build_money"], ft["build_money"]
    n = break_even_requests(build_a, per_a, build_b, per_b)
    head = (f"N = ({num(build_b, 6)} - {num(build_a, 6)}) / ({num(per_a, 6)} - {num(per_b, 6)} per request, "
            f"input and output tokens at each rung's serving prices)")
    if n is None:
        formula = f"{head}: never pays back ({ft['rung']} costs as much or more per request than {base['rung']})"
    else:
        formula = f"{head} = {num(n, 5)} requests"
    return {"finetune_rung": ft["rung"], "baseline_rung": base["rung"], "applies": True, "currency": currency,
            "build_cost": build_b, "baseline_build_cost": build_a, "cost_per_request": per_b,
            "baseline_cost_per_request": per_a, "requests": n, "formula": formula}


def break_even(rungs: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    """One entry per fine-tune rung: the requests after which it has cost less in total than the
    cheaper-to-build rung that meets the target and costs least over the volume. Only rungs that
    meet the target are compared: replacing a rung that misses it saves nothing worth counting."""
    return [_break_even(ft, rungs, currency) for ft in rungs if ft["kind"] == "finetune"]


def _selection(spec: dict[str, Any]) -> dict[str, Any]:
    """The run's recorded selection split, and what it means for the reported figures."""
    if "selection" not in spec:
        return {"recorded": False, "dev_ids": frozenset(), "n_dev": None, "optimistic": True,
                "text": (f"selection split {NOT_RECORDED} (a run from before ladder recorded one): the recommended "
                         "rung was chosen and reported on the same rows, so its figure is optimistic")}
    chosen = spec["selection"] or {}
    dev_ids = frozenset(chosen.get("dev_ids") or ())
    if not dev_ids:
        return {"recorded": True, "dev_ids": dev_ids, "n_dev": 0, "optimistic": True,
                "text": ("no selection split configured (data.dev or selection.dev_fraction): the recommended rung "
                         "was chosen and reported on the same rows, so its figure is optimistic")}
    how = (f"dev_fraction {chosen['dev_fraction']}, seed {chosen.get('seed', 0)}"
           if chosen.get("dev_fraction") is not None else "data.dev or selection.dev_ids")
    return {"recorded": True, "dev_ids": dev_ids, "n_dev": len(dev_ids), "optimistic": False,
            "text": (f"rungs are chosen on {len(dev_ids)} dev rows ({how}); every reported figure comes from the "
                     "other (test) rows")}


def _spec_defaults(spec: dict[str, Any]) -> dict[str, Any]:
    """The figures the report needs from the run's spec, with TaskSpec's defaults."""
    prices, target = spec.get("prices") or {}, spec.get("target") or {}
    return {
        "prices": {"currency": prices.get("currency", "USD"),
                   "input_per_1k": float(prices.get("input_per_1k", 0.0)),
                   "output_per_1k": float(prices.get("output_per_1k", 0.0)),
                   "train_per_hour": float(prices.get("train_per_hour", 0.0)),
                   "finetuned_input_per_1k": prices.get("finetuned_input_per_1k"),
                   "finetuned_output_per_1k": prices.get("finetuned_output_per_1k")},
        "target": {"metric": target.get("metric", "overall"), "value": float(target.get("value", 0.9))},
        "volume": int(spec.get("volume", 100_000)),
        "budget": (spec.get("budget") or {}).get("money"),
        "selection": _selection(spec),
        "judge_trust_kappa": float(spec.get("judge_trust_kappa", DEFAULT_TRUST_KAPPA)),
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


def human_labels(store: Store, run_id: str, rows: list[RungRow],
                 gens: dict[int, list[GenerationRow]]) -> dict[str, dict[str, int]]:
    """Per rung: how many of its answers people rated (`ladder review`), by how many raters,
    and how many blind A/B choices involved its answers (every eval row, dev rows included)."""
    comparisons = [c for c in store.comparisons(run_id) if c.source_kind == "human" and c.winner is not None]
    out = {}
    for row in rows:
        ids = {g.id for g in gens[row.id]}
        human = [[a for a in g.assessments if a.source_kind == "human"
                  and (a.passed is not None or a.score is not None or a.rationale)] for g in gens[row.id]]
        out[row.rung] = {"ratings": sum(bool(h) for h in human),
                         "raters": len({a.source_name for h in human for a in h}),
                         "ab_choices": sum(c.a in ids or c.b in ids for c in comparisons)}
    return out


def _unfinished(status: str, recorded: int) -> list[str]:
    """The advice's first note for a run that did not finish: it covers only the rungs it recorded."""
    if status == "running":
        return [f"this run is recorded as running (its climb is still going, or was stopped before it could record "
                f"that on a host or a ladder that cannot tell): the figures cover the {recorded} rung row(s) recorded "
                "so far"]
    if status == "interrupted":
        return [f"this run did not finish (interrupted): the figures and the advice cover only the {recorded} rung "
                "row(s) it recorded; the same `ladder climb` again climbs every rung, its answered calls read from "
                "the call cache"]
    return []


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
    dev_ids, metric = spec["selection"]["dev_ids"], spec["target"]["metric"]
    test = {r["rung"]: [g for g in gens[row.id] if g.example_id not in dev_ids] for row, r in zip(rows, rungs)}
    for row, r in zip(rows, rungs):
        r["retrieval"] = retrieval_summary(store.retrievals(row.id), gens[row.id])
    front = pareto_front(rungs)
    for r in rungs:
        r["on_frontier"] = r["rung"] in front
    currency = spec["prices"]["currency"]
    pairwise = pairwise_summary(store.comparisons(run_id), {g.id: row.rung for row in rows for g in gens[row.id]},
                                rungs)
    diagnoses = [d.to_dict() for d in diagnose(store, run_id, judge)]
    # tiers 2 and 3: judges are measured on every answer; people's figures and the rankings use the
    # same (test) rows as the rung figures
    votes = store.comparisons(run_id)
    cards = judge_cards([g for row in rows for g in gens[row.id]], votes, spec["judge_trust_kappa"])
    advice = recommend(rungs, spec["target"], spec["volume"], currency, options.scenario, spec["budget"],
                       {d["rung"]: d["next_step"] for d in diagnoses},
                       outcomes={name: target_outcomes(g, metric) for name, g in test.items()},
                       optimistic=spec["selection"]["optimistic"], judges=cards, task_path=run["task_path"])
    found = comparisons(rungs, {name: pass_table(g) for name, g in test.items()})
    coverage_gaps(rungs, advice, found)
    advice["notes"] = _unfinished(run["status"], len(rows)) + advice["notes"]
    selection = {k: v for k, v in spec["selection"].items() if k != "dev_ids"}
    return {
        "run": {
            "id": run["id"], "task_name": run["task_name"], "task_path": run["task_path"],
            "model": run["model"], "started_at": run["started_at"], "finished_at": run["finished_at"],
            "status": run["status"], "target_metric": metric,
            "target_value": spec["target"]["value"], "currency": currency,
            "prices": spec["prices"], "volume": spec["volume"], "budget": spec["budget"],
            "scenario": options.scenario, "interval_method": INTERVAL_METHOD, "selection": selection,
            "judge_trust_kappa": spec["judge_trust_kappa"],
        },
        "rungs": rungs,
        "frontier": front,
        "break_even": break_even(rungs, currency),
        "comparisons": found,
        "recommendation": advice,
        "judge_cards": cards,  # empty without judges
        "human": human_figures(test, votes),  # None when no person labelled the reported rows
        "pairwise_ranking": pairwise_rankings(test, votes),  # one per source kind that voted; empty without votes
        "judges": judges_summary(run["spec"], rungs, diagnoses),
        "pairwise": pairwise,
        "evaluation_cost": evaluation_cost(rungs),
        "diagnosis": diagnoses,
        "failure_classes": {c: d for c, d in CLASSES.items()},
        "environment": run["environment"],  # what ran, where; None when the run did not record it
        "human_labels": human_labels(store, run_id, rows, gens),
    }
