"""The results view's per-example drill-down: one row per answer, with its tier-1 outcomes,
the people's labels and the judges' verdicts, filtered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladder.scoring import outcome
from ladder.tracking.store import GenerationRow, Store

FILTERS = {
    "all": "every answer",
    "failed": "failed (overall)",
    "form": "form errors",
    "knowledge": "knowledge errors",
    "disagree": "judge-human disagreements",
}


@dataclass(frozen=True)
class Row:
    rung: str
    generation: GenerationRow
    outcomes: dict[str, str]  # overall, form, knowledge -> pass | fail | unscored | error
    human: list[str]  # "alice: pass, 4/5, 'too short'"
    judges: list[str]  # "equivalent: fail"
    disagree: bool


def _verdict(passed: bool | None, error: str | None) -> str:
    return "error" if error else {True: "pass", False: "fail"}.get(passed, "-")  # type: ignore[arg-type]


def _row(rung: str, g: GenerationRow) -> Row:
    humans = [a for a in g.assessments if a.source_kind == "human"]
    judges = [a for a in g.assessments if a.source_kind == "llm_judge"]
    human = [", ".join(filter(None, [f"{a.source_name}: {_verdict(a.passed, a.error)}",
                                     None if a.score is None else f"{a.score:g}/5",
                                     repr(a.rationale) if a.rationale else None])) for a in humans]
    judge = [f"{a.name}: {_verdict(a.passed, a.error)}" + ("" if a.score is None else f" ({a.score:g})")
             for a in judges]
    said = {a.verdict for a in humans if a.verdict is not None}
    judged = {a.verdict for a in judges if a.verdict is not None}
    # a disagreement: both gave verdicts and some judge's differs from some person's
    return Row(rung, g, {t: outcome(g, t) for t in ("overall", "form", "knowledge")}, human, judge,
               bool(said and judged) and said != judged)


def drilldown(store: Store, run_id: str, show: str = "all", rung: str | None = None,
              vs: str | None = None) -> list[Row]:
    """The rows to show. `rung` keeps one rung; with `vs` too, the examples on which the two rungs'
    overall outcomes differ, both rungs' answers side by side."""
    rungs = [r for r in store.rung_results(run_id) if r.kind != "teacher"]
    picked = [r for r in rungs if rung is None or r.rung in (rung, vs)]
    rows = [_row(r.rung, g) for r in picked for g in store.generations(r.id)]
    if rung and vs:
        by_example: dict[str, dict[str, str]] = {}
        for row in rows:
            by_example.setdefault(row.generation.example_id, {})[row.rung] = row.outcomes["overall"]
        differ = {e for e, o in by_example.items() if o.get(rung) != o.get(vs)}
        rows = [row for row in rows if row.generation.example_id in differ]
        order = {rung: 0, vs: 1}
        rows.sort(key=lambda row: (row.generation.example_id, order[row.rung]))
    keep: dict[str, Any] = {
        "all": lambda row: True,
        "failed": lambda row: row.outcomes["overall"] == "fail",
        "form": lambda row: row.outcomes["form"] == "fail",
        "knowledge": lambda row: row.outcomes["knowledge"] == "fail",
        "disagree": lambda row: row.disagree,
    }
    return [row for row in rows if keep[show](row)]
