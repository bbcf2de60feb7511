"""The quality-vs-cost frontier plot, drawn from a summary dict.

Uses matplotlib's object API on the Agg canvas (no pyplot, so no global figure state).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

MARKERS = {"prompt": "o", "finetune": "s"}
COLORS = {True: "#1f77b4", False: "#9e9e9e"}  # on the frontier / dominated


def _points(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in summary["rungs"]
            if r.get("quality") is not None and r.get("cost_per_1k_requests") is not None]


def plot_frontier(summary: dict[str, Any], path: Path, dpi: int = 120) -> Path:
    """Write a PNG: x = cost per 1K requests, y = the target metric, one labelled point per rung."""
    run = summary["run"]
    metric, target = run["target_metric"], run["target_value"]
    fig = Figure(figsize=(7.5, 4.8), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    pts = _points(summary)
    front = set(summary.get("frontier", []))

    seen: dict[tuple[float, float], int] = {}  # stagger labels of identical points
    for r in pts:
        x, y = r["cost_per_1k_requests"], r["quality"]
        on = r["rung"] in front
        ax.scatter([x], [y], marker=MARKERS.get(r["kind"], "^"), s=60, zorder=3,
                   color=COLORS[on], edgecolors="black", linewidths=0.6)
        k = seen.get((x, y), 0)
        seen[(x, y)] = k + 1
        ax.annotate(r["rung"], (x, y), xytext=(6, 6 + 11 * k), textcoords="offset points", fontsize=8)

    costs = [r["cost_per_1k_requests"] for r in pts]
    hi = max(costs, default=0.0)
    if hi > 0:
        ax.set_xlim(-0.05 * hi, hi * 1.25)
    else:  # no prices set: every rung costs 0; keep the points visible and say why
        ax.set_xlim(-1.0, 1.0)
        ax.set_xticks([0.0])
        ax.text(0.02, 0.02, "all costs are 0 (no prices set in task.yaml)", transform=ax.transAxes,
                fontsize=8, color="#555555")

    fpts = sorted((r["cost_per_1k_requests"], r["quality"]) for r in pts if r["rung"] in front)
    if fpts:
        xs = [x for x, _ in fpts] + [ax.get_xlim()[1]]
        ys = [y for _, y in fpts] + [fpts[-1][1]]
        ax.step(xs, ys, where="post", color=COLORS[True], linewidth=1.2, zorder=2, label="Pareto front")

    ax.axhline(target, color="#d62728", linestyle="--", linewidth=1.0,
               label=f"target: {metric} >= {target:g}")
    for kind, marker in MARKERS.items():
        ax.scatter([], [], marker=marker, color="white", edgecolors="black", label=kind)
    if not pts:
        ax.text(0.5, 0.5, "no rung produced results", transform=ax.transAxes, ha="center")

    ax.set_ylim(-0.03, 1.08)
    ax.set_xlabel(f"cost per 1K requests ({run['currency']})")
    ax.set_ylabel(f"{metric} accuracy")
    ax.set_title(f"{run['task_name']}: quality vs cost")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
