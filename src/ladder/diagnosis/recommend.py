"""The recommendation: which rung to use for a scenario, why, what it costs, and what to try next.

Scenarios (`--scenario`):
- target: the cheapest rung over the expected volume (build included) that reaches the target;
- budget: the best rung whose cost over the volume (build included) fits the budget;
- frontier: the best quality, cost secondary (the "step-function" case).

Works on the report's rung entries: dicts with rung, kind, position, n, n_errors, error, quality,
quality_ci, cost_per_1k_requests, cost_at_volume and meets_target.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ladder.stats import compare

Scenario = Literal["target", "budget", "frontier"]


class AdviceOptions(BaseModel):
    """What `ladder recommend` may change; None keeps the run's task.yaml value."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scenario: Scenario = Field("target", description="target: cheapest rung reaching the target; "
                               "budget: best rung within the budget; frontier: best quality, cost secondary")
    target: float | None = Field(None, ge=0, le=1, description="quality target (default: task.yaml target.value)")
    volume: int | None = Field(None, ge=0, description="expected requests (default: task.yaml volume)")
    budget: float | None = Field(None, ge=0, description="most to spend on the chosen rung, build plus serving "
                                 "the volume (default: task.yaml budget.money)")


def usable(r: dict[str, Any]) -> bool:
    """A rung that produced results to compare: examples, a quality figure, no rung error."""
    return (r.get("n", 0) > 0 and r.get("quality") is not None
            and r.get("cost_per_1k_requests") is not None and r.get("error") is None)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _choose(pts: list[dict[str, Any]], scenario: Scenario, budget: float | None,
            goal: str, currency: str, volume: int) -> tuple[dict[str, Any] | None, str]:
    def cost(r: dict[str, Any]) -> str:
        return f"{_fmt(r['cost_at_volume'])} {currency} for {volume:,} requests, build included"

    if scenario == "frontier":
        best = min(pts, key=lambda r: (-r["quality"], r["cost_at_volume"], r["position"]))
        return best, f"{best['rung']} has the best quality ({best['quality']:.1%}); cost secondary: {cost(best)}"
    if scenario == "budget":
        if budget is None:
            return None, "scenario budget needs a budget (--budget, or budget.money in task.yaml)"
        fits = [r for r in pts if r["cost_at_volume"] <= budget]
        if not fits:
            cheapest = min(pts, key=lambda r: r["cost_at_volume"])
            return None, (f"no rung fits the budget of {_fmt(budget)} {currency}; the cheapest, "
                          f"{cheapest['rung']}, needs {cost(cheapest)}")
        best = min(fits, key=lambda r: (-r["quality"], r["cost_at_volume"], r["position"]))
        return best, (f"{best['rung']} is the best rung within the budget of {_fmt(budget)} {currency} "
                      f"({best['quality']:.1%}; {cost(best)})")
    meeting = [r for r in pts if r["meets_target"]]
    if meeting:
        best = min(meeting, key=lambda r: (r["cost_at_volume"], -r["quality"], r["position"]))
        return best, (f"{best['rung']} is the cheapest rung that meets the target ({goal}) with "
                      f"{best['quality']:.1%}: {cost(best)}")
    best = min(pts, key=lambda r: (-r["quality"], r["cost_at_volume"], r["position"]))
    return best, f"no rung meets the target ({goal}); {best['rung']} comes closest with {best['quality']:.1%}"


def _comparisons(best: dict[str, Any], pts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chosen rung against the strongest cheaper rung and the best other rung."""
    others = [r for r in pts if r["rung"] != best["rung"]]
    cheaper = [r for r in others if r["cost_at_volume"] < best["cost_at_volume"]]
    picks = []
    if cheaper:
        picks.append(max(cheaper, key=lambda r: (r["quality"], -r["cost_at_volume"])))
    if others:
        top = max(others, key=lambda r: (r["quality"], -r["cost_at_volume"]))
        if top not in picks:
            picks.append(top)
    n_eval = min([best["n"] - best.get("n_errors", 0)] + [r["n"] - r.get("n_errors", 0) for r in picks])
    return [compare(best["rung"], best["quality"], best["quality_ci"], r["rung"], r["quality"],
                    r["quality_ci"], n_eval) for r in picks]


def recommend(rungs: list[dict[str, Any]], target: dict[str, Any], volume: int, currency: str,
              scenario: Scenario = "target", budget: float | None = None,
              next_steps: dict[str, str] | None = None) -> dict[str, Any]:
    """The advice for one scenario. `next_steps` maps a rung to its diagnosis's next step."""
    goal = f"{target['metric']} >= {_fmt(target['value'])}"
    pts = [r for r in rungs if usable(r)]
    empty = {"scenario": scenario, "rung": None, "meets_target": False, "target_met_by": [],
             "quality": None, "quality_ci": None, "cost_per_1k_requests": None, "cost_at_volume": None,
             "comparisons": [], "notes": [], "next_step": ""}
    if not pts:
        return {**empty, "reason": "no rung produced results to compare"}
    best, reason = _choose(pts, scenario, budget, goal, currency, volume)
    met_by = [r["rung"] for r in pts if r["meets_target"]]
    if best is None:
        return {**empty, "target_met_by": met_by, "reason": reason}
    notes = []
    ci = best["quality_ci"]
    if best["meets_target"] and ci and ci[0] < target["value"]:
        notes.append(f"its 95% interval [{ci[0]:.1%}, {ci[1]:.1%}] reaches below the target: a larger eval "
                     "set would make the claim safer")
    if best.get("n_errors"):
        notes.append(f"{best['n_errors']} failed call(s) are left out of its accuracy")
    return {
        "scenario": scenario, "rung": best["rung"], "meets_target": best["meets_target"],
        "target_met_by": met_by, "quality": best["quality"], "quality_ci": ci,
        "cost_per_1k_requests": best["cost_per_1k_requests"], "cost_at_volume": best["cost_at_volume"],
        "reason": reason, "comparisons": _comparisons(best, pts), "notes": notes,
        "next_step": (next_steps or {}).get(best["rung"], ""),
    }
