"""The recommendation: which rung to use for a scenario, why, what it costs, and what to try next.

Scenarios (`--scenario`):
- target: the cheapest rung over the expected volume (build included) that reaches the target;
- budget: the best rung whose build cost fits the budget (budget.money is build cost, as in the climb);
- frontier: the best quality, cost secondary (the "step-function" case).

With a selection split the rung is chosen on its dev-row figures (`dev_quality`) and reported
on the test rows (`quality`); the gap between the two is reported. The chosen rung is compared
with every other rung on the rows both were scored on (paired: exact McNemar, Newcombe interval),
Holm-adjusted since it was picked among them.

When the target's metric is given (in whole or in part) by LLM judges, the advice names them with
their trust from the judge cards (ladder.scoring_judges): `untrusted_judges` lists those whose
kappa against their reference is too low, and a note says the recommendation rests on them.

Works on the report's rung entries: dicts with rung, kind, position, n, n_errors, coverage, error,
quality, quality_ci, dev_quality, dev_meets_target, build_money, cost_per_1k_requests,
cost_at_volume and meets_target.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from ladder.scoring import codes_text
from ladder.stats import compare_one_to_many

Scenario = Literal["target", "budget", "frontier"]


class AdviceOptions(BaseModel):
    """What `ladder recommend` may change; None keeps the run's task.yaml value."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scenario: Scenario = Field("target", description="target: cheapest rung reaching the target; "
                               "budget: best rung within the budget; frontier: best quality, cost secondary")
    target: float | None = Field(None, ge=0, le=1, description="quality target (default: task.yaml target.value)")
    volume: int | None = Field(None, ge=0, description="expected requests (default: task.yaml volume)")
    budget: float | None = Field(None, ge=0, description="most to spend building the chosen rung (build cost, as "
                                 "in the climb; serving is not counted) (default: task.yaml budget.money)")


def selection_quality(r: dict[str, Any]) -> float:
    """The figure a rung is chosen on: its dev-row quality with a selection split, else its quality."""
    return r["quality"] if r.get("dev_quality") is None else r["dev_quality"]


def selection_meets(r: dict[str, Any]) -> bool:
    """Whether a rung meets the target on the rows it is chosen on (dev rows with a split)."""
    return bool(r["meets_target"] if r.get("dev_meets_target") is None else r["dev_meets_target"])


def _failed_calls(rungs: Sequence[dict[str, Any]], task_path: str) -> str:
    """Why no rung has results, where calls failed: their codes and how to ask them again."""
    codes = sum((Counter(r.get("error_codes") or {}) for r in rungs), Counter())
    if not codes:
        return ""
    return (f": {sum(codes.values())} call(s) failed ({codes_text(codes)}); once the model answers, "
            f"`ladder climb {task_path} --retry-errors` asks them again")


def usable(r: dict[str, Any]) -> bool:
    """A rung that produced results to compare: examples, a quality figure, no rung error. A
    baseline row (random_baseline) is a reference line for the reader, never a candidate."""
    return (r.get("kind") != "baseline" and r.get("n", 0) > 0 and r.get("quality") is not None
            and r.get("cost_per_1k_requests") is not None and r.get("error") is None)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _choose(pts: list[dict[str, Any]], scenario: Scenario, budget: float | None,
            goal: str, currency: str, volume: int) -> tuple[dict[str, Any] | None, str]:
    def cost(r: dict[str, Any]) -> str:
        return f"{_fmt(r['cost_at_volume'])} {currency} for {volume:,} requests, build included"

    def q(r: dict[str, Any]) -> str:
        return f"{selection_quality(r):.1%}" + (" on the dev rows" if r.get("dev_quality") is not None else "")

    def best_quality(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return min(rs, key=lambda r: (-selection_quality(r), r["cost_at_volume"], r["position"]))

    if scenario == "frontier":
        best = best_quality(pts)
        return best, f"{best['rung']} has the best quality ({q(best)}); cost secondary: {cost(best)}"
    if scenario == "budget":
        if budget is None:
            return None, "scenario budget needs a budget (--budget, or budget.money in task.yaml)"
        fits = [r for r in pts if r["build_money"] <= budget]
        if not fits:
            cheapest = min(pts, key=lambda r: r["build_money"])
            return None, (f"no rung's build cost fits the budget of {_fmt(budget)} {currency}; the cheapest to "
                          f"build, {cheapest['rung']}, cost {_fmt(cheapest['build_money'])} {currency}")
        best = best_quality(fits)
        return best, (f"{best['rung']} is the best rung whose build cost ({_fmt(best['build_money'])} {currency}) "
                      f"fits the budget of {_fmt(budget)} {currency} ({q(best)}; {cost(best)})")
    meeting = [r for r in pts if selection_meets(r)]
    if meeting:
        best = min(meeting, key=lambda r: (r["cost_at_volume"], -selection_quality(r), r["position"]))
        return best, (f"{best['rung']} is the cheapest rung that meets the target ({goal}) with "
                      f"{q(best)}: {cost(best)}")
    best = best_quality(pts)
    return best, f"no rung meets the target ({goal}); {best['rung']} comes closest with {q(best)}"


def _notes(best: dict[str, Any], pts: list[dict[str, Any]], target: dict[str, Any], optimistic: bool,
           compared: int) -> list[str]:
    notes = []
    ci = best["quality_ci"]
    if best["meets_target"] and ci and ci[0] < target["value"]:
        notes.append(f"its 95% interval [{ci[0]:.1%}, {ci[1]:.1%}] reaches below the target: a larger eval "
                     "set would make the claim safer")
    if best.get("n_errors"):
        notes.append(f"{best['n_errors']} failed call(s) count as failures of the target (coverage "
                     f"{best['coverage']:.1%})")
    if best.get("dev_quality") is not None:
        gap = best["dev_quality"] - best["quality"]
        notes.append(f"chosen on the dev rows ({best['dev_quality']:.1%}, n = {best['n_dev']}), reported on the test "
                     f"rows ({best['quality']:.1%}, n = {best['n']}): a dev-test gap of {100 * gap:+.1f} points")
    elif optimistic:
        notes.append("no selection split: the rung was chosen and is reported on the same rows, so its figure is "
                     "optimistic (set data.dev or selection.dev_fraction in task.yaml)")
    if compared > 1:
        notes.append(f"it was picked among {len(pts)} rungs: the {compared} comparisons above are Holm-adjusted "
                     "for that")
    return notes


def judges_behind(metric: str, judges: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The judges of single answers whose verdicts count towards `metric` (every tag counts
    towards overall), from their judge cards."""
    return [j for j in judges if j.get("kind") != "pairwise" and (metric == "overall" or j.get("tag") == metric)]


def _judge_notes(behind: Sequence[Mapping[str, Any]]) -> list[str]:
    notes = []
    for j in behind:
        if j["trust"] == "untrusted":
            notes.append(f"it rests on an untrusted judge, {j['name']} ({j['trust_text']}): treat its "
                         f"{j['tag']} verdicts, and this choice, with caution")
        elif j["trust"] == "unknown":
            notes.append(f"it rests on the judge {j['name']}, whose trust is unknown ({j['trust_text']})")
    return notes


def recommend(rungs: list[dict[str, Any]], target: dict[str, Any], volume: int, currency: str,
              scenario: Scenario = "target", budget: float | None = None,
              next_steps: dict[str, str] | None = None,
              outcomes: Mapping[str, Mapping[str, bool]] | None = None,
              optimistic: bool = False, judges: Sequence[Mapping[str, Any]] = (),
              task_path: str = "TASK.yaml") -> dict[str, Any]:
    """The advice for one scenario. `next_steps` maps a rung to its diagnosis's next step;
    `outcomes` maps a rung to its reported (test) rows' target outcomes (example id -> passed),
    for the paired comparisons; `optimistic`: no selection split, the figures are the chosen ones;
    `judges`: the run's judge cards (name, kind, tag, trust, trust_text), to say when the advice
    rests on a judge that is not trusted; `task_path`: the task's file, for the commands advised."""
    goal = f"{target['metric']} >= {_fmt(target['value'])}"
    pts = [r for r in rungs if usable(r)]
    behind = judges_behind(target["metric"], judges)
    untrusted = [j["name"] for j in behind if j["trust"] == "untrusted"]
    trust = {"judges": [{"name": j["name"], "tag": j["tag"], "trust": j["trust"]} for j in behind],
             "untrusted_judges": untrusted, "rests_on_untrusted_judge": bool(untrusted)}
    empty = {"scenario": scenario, "rung": None, "meets_target": False, "target_met_by": [],
             "quality": None, "quality_ci": None, "dev_quality": None, "dev_test_gap": None,
             "cost_per_1k_requests": None, "cost_at_volume": None, "build_money": None,
             "comparisons": [], "notes": [], "next_step": "", **trust}
    if not pts:
        return {**empty, "reason": "no rung produced results to compare" + _failed_calls(rungs, task_path)}
    best, reason = _choose(pts, scenario, budget, goal, currency, volume)
    met_by = [r["rung"] for r in pts if selection_meets(r)]
    if best is None:
        return {**empty, "target_met_by": met_by, "reason": reason}
    comparisons: list[dict[str, Any]] = []
    if outcomes is not None:
        others = {r["rung"]: outcomes[r["rung"]] for r in pts if r["rung"] != best["rung"]}
        comparisons = compare_one_to_many(best["rung"], outcomes[best["rung"]], others)
    gap = None if best.get("dev_quality") is None else best["dev_quality"] - best["quality"]
    return {
        "scenario": scenario, "rung": best["rung"], "meets_target": best["meets_target"],
        "target_met_by": met_by, "quality": best["quality"], "quality_ci": best["quality_ci"],
        "dev_quality": best.get("dev_quality"), "dev_test_gap": gap,
        "cost_per_1k_requests": best["cost_per_1k_requests"], "cost_at_volume": best["cost_at_volume"],
        "build_money": best["build_money"], "reason": reason, "comparisons": comparisons,
        "notes": _judge_notes(behind) + _notes(best, pts, target, optimistic, len(comparisons)),
        "next_step": (next_steps or {}).get(best["rung"], ""), **trust,
    }
