"""Write a run's report files: report.html (self-contained), report.md, frontier.png, summary.json.

Reads the store only; never loads a model.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from ladder.report import fmt
from ladder.report.environment import environment_rows
from ladder.report.frontier import plot_frontier
from ladder.report.markdown import render_markdown
from ladder.report.retrieval import comparison_lines, retrieval_table
from ladder.report.summary import summarize
from ladder.report.tiers import (human_ab_table, human_cost_line, human_rung_table, judge_card_notes,
                                 judge_card_table, pairwise_judge_table, ranking_tables)
from ladder.tracking.store import Store

TEMPLATES = Path(__file__).parent / "templates"
PNG_NAME = "frontier.png"


_CODE_SPAN = re.compile(r"`([^`]+)`")


def inline_code(text: str) -> Markup:
    """A sentence written for report.md and the terminal, for HTML: escaped, its `code` spans as
    <code> (the same sentences serve all three, so they keep markdown's backticks)."""
    return Markup(_CODE_SPAN.sub(r"<code>\1</code>", str(escape(text))))


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["code"] = inline_code
    env.globals["numeric_columns"] = fmt.numeric_columns
    return env


def render_html(summary: dict[str, Any], png: bytes) -> str:
    """report.html's text, with the frontier PNG embedded as a data URI."""
    headers, rows = fmt.rung_table(summary)
    retrieval_headers, retrieval_rows = retrieval_table(summary)
    diagnosis_headers, diagnosis_rows = fmt.diagnosis_table(summary)
    check_headers, check_rows = fmt.check_table(summary)
    card_headers, card_rows = judge_card_table(summary)
    card_pairwise_headers, card_pairwise_rows = pairwise_judge_table(summary)
    human_headers, human_rows = human_rung_table(summary)
    ab_headers, ab_rows = human_ab_table(summary)
    judge_headers, judge_rows = fmt.judge_table(summary)
    pairwise_headers, pairwise_rows = fmt.pairwise_table(summary)
    return _environment().get_template("report.html").render(
        run=summary["run"],
        rungs=summary["rungs"],
        frontier=summary["frontier"],
        break_even=summary["break_even"],
        recommendation=summary["recommendation"],
        advice=fmt.advice_lines(summary),
        diagnosis=summary["diagnosis"],
        diagnosis_headers=diagnosis_headers,
        diagnosis_rows=diagnosis_rows,
        failure_classes=summary["failure_classes"],
        headers=headers,
        rows=rows,
        target_text=fmt.target_text(summary),
        prices_text=fmt.prices_text(summary),
        selection_text=fmt.selection_text(summary),
        rung_note=fmt.rung_note(summary),
        human_labels_text=fmt.human_labels_text(summary),
        break_even_note=fmt.BREAK_EVEN_NOTE,
        png_base64=base64.b64encode(png).decode("ascii"),
        retrieval_headers=retrieval_headers,
        retrieval_rows=retrieval_rows,
        comparison_lines=comparison_lines(summary),
        check_headers=check_headers,
        check_rows=check_rows,
        check_tags=fmt.check_tags(summary),
        environment_rows=environment_rows(summary["environment"]),
        card_headers=card_headers, card_rows=card_rows, card_notes=judge_card_notes(summary) if card_rows else [],
        card_pairwise_headers=card_pairwise_headers, card_pairwise_rows=card_pairwise_rows,
        human_headers=human_headers, human_rows=human_rows, ab_headers=ab_headers, ab_rows=ab_rows,
        human_cost=human_cost_line(summary), rankings=ranking_tables(summary),
        judge_headers=judge_headers,
        judge_rows=judge_rows,
        pairwise_headers=pairwise_headers,
        pairwise_rows=pairwise_rows,
        judge_lines=fmt.judge_lines(summary),
    )


def write_report(store: Store, run_id: str, out_dir: Path) -> dict[str, Path]:
    """Write the four report files into `out_dir`; return their paths by kind
    (`html`, `md`, `png`, `json`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(store, run_id)
    paths = {
        "json": out_dir / "summary.json",
        "png": out_dir / PNG_NAME,
        "md": out_dir / "report.md",
        "html": out_dir / "report.html",
    }
    paths["json"].write_text(json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                             encoding="utf-8")
    plot_frontier(summary, paths["png"])
    paths["md"].write_text(render_markdown(summary, PNG_NAME), encoding="utf-8")
    paths["html"].write_text(render_html(summary, paths["png"].read_bytes()), encoding="utf-8")
    return paths
