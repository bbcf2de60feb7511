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
LABEL_FONT_PT = 8
LABEL_LINE_PT = 11  # one level of a lifted label
LABEL_CHAR_PT = 0.6 * LABEL_FONT_PT  # a generous average character width of the default sans font
LABEL_OFFSET_PT = 6  # a label's lower-left corner, right of and above its point


def _points(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in summary["rungs"]
            if r.get("quality") is not None and r.get("cost_per_1k_requests") is not None]


def label_levels(corners: list[tuple[float, float, float]]) -> list[int]:
    """How many lines each label is lifted so that no two overlap: `corners` are the labels'
    lower-left corners and widths, in points, in the order they are placed; each takes the lowest
    level where its box meets none placed before it (rungs of about the same cost and quality,
    e.g. instructed and few_shot both at 0%, would otherwise print over each other)."""
    placed: list[tuple[float, float, float, float]] = []  # x0, x1, y0, y1
    levels = []
    for x, y, width in corners:
        level = 0
        while any(x < x1 and x0 < x + width and y + level * LABEL_LINE_PT < y1 and y0 < y + (level + 1) * LABEL_LINE_PT
                  for x0, x1, y0, y1 in placed):
            level += 1
        placed.append((x, x + width, y + level * LABEL_LINE_PT, y + (level + 1) * LABEL_LINE_PT))
        levels.append(level)
    return levels


def _label(ax: Any, dpi: float, pts: list[dict[str, Any]]) -> None:
    """Name each point, once the axes have their final place (after the layout), lifting labels
    that would overlap; a lifted label has a thin line down to its point."""
    at = [ax.transData.transform((r["cost_per_1k_requests"], r["quality"])) * 72 / dpi for r in pts]  # points
    corners = [(x + LABEL_OFFSET_PT, y + LABEL_OFFSET_PT, LABEL_CHAR_PT * len(r["rung"])) for (x, y), r in zip(at, pts)]
    for r, level in zip(pts, label_levels(corners)):
        leader = {"arrowstyle": "-", "color": "0.55", "lw": 0.6, "shrinkA": 0, "shrinkB": 4,
                  "relpos": (0, 0)} if level else None  # from the label's lower-left corner: left of those below
        ax.annotate(r["rung"], (r["cost_per_1k_requests"], r["quality"]), fontsize=LABEL_FONT_PT,
                    xytext=(LABEL_OFFSET_PT, LABEL_OFFSET_PT + LABEL_LINE_PT * level), textcoords="offset points",
                    arrowprops=leader)


def plot_frontier(summary: dict[str, Any], path: Path, dpi: int = 120) -> Path:
    """Write a PNG: x = cost per 1K requests, y = the target metric, one labelled point per rung."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frontier_figure(summary, dpi).savefig(path, format="png")
    return path


def frontier_figure(summary: dict[str, Any], dpi: int = 120) -> Figure:
    """The figure plot_frontier writes, on an Agg canvas."""
    run = summary["run"]
    metric, target = run["target_metric"], run["target_value"]
    fig = Figure(figsize=(7.5, 4.8), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    pts = _points(summary)
    front = set(summary.get("frontier", []))

    for r in pts:
        ax.scatter([r["cost_per_1k_requests"]], [r["quality"]], marker=MARKERS.get(r["kind"], "^"), s=60, zorder=3,
                   color=COLORS[r["rung"] in front], edgecolors="black", linewidths=0.6)

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
    _label(ax, fig.dpi, pts)
    return fig
