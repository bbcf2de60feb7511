"""The Markdown report: the same content as report.html, for terminals, PRs and wikis."""

from __future__ import annotations

import re
from typing import Any

from ladder.report import fmt
from ladder.report.environment import environment_rows
from ladder.report.retrieval import comparison_lines, retrieval_table
from ladder.report.tiers import (human_ab_table, human_cost_line, human_rung_table, judge_card_notes,
                                 judge_card_table, pairwise_judge_table, ranking_tables)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _fenced(text: str) -> list[str]:
    """A code block whose fence is longer than any backtick run inside `text`."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


def _diagnosis(summary: dict[str, Any]) -> list[str]:
    """Counts per failure class, the legend, then up to three examples of each class per rung."""
    if not summary["diagnosis"]:
        return ["No rung produced results to diagnose.", ""]
    judges = sorted({d["judge"] for d in summary["diagnosis"] if d["judge"]})
    lines = [*_table(*fmt.diagnosis_table(summary)), ""]
    lines += [f"- `{c}`: {text}" for c, text in summary["failure_classes"].items()]
    lines += ["", "Thin answers are judged by: " + (", ".join(judges) or fmt.DASH) + ".", ""]
    for d in summary["diagnosis"]:
        teacher = (f" The teacher answered {d['teacher_asked']} prompt(s) "
                   f"({fmt.money(d['teacher_money'])} {summary['run']['currency']}).") if d["teacher_asked"] else ""
        lines += [f"### {d['rung']}", "", f"Next step: {d['next_step']}.{teacher}", ""]
        for cls, examples in d["examples"].items():
            lines += [f"#### {cls} ({d['counts'][cls]})", ""]
            for e in examples:
                lines += [f"**example {e['example_id']}** — {e['evidence'] or fmt.DASH}", ""]
                for label, key in (("input", "input"), ("output", "output"), ("reference", "expected")):
                    lines += [f"{label}:", *_fenced(e[key]), ""]
    return lines


def _tiers(summary: dict[str, Any]) -> list[str]:
    """Judge cards, human review and the rankings from pairwise votes; each only with data."""
    lines: list[str] = []
    headers, rows = judge_card_table(summary)
    if rows:
        lines += ["## Judge cards", "", *_table(headers, rows), ""]
        pair_headers, pair_rows = pairwise_judge_table(summary)
        lines += [*_table(pair_headers, pair_rows), ""] if pair_rows else []
        lines += [f"- {note}" for note in judge_card_notes(summary)] + [""]
    rung_headers, rung_rows = human_rung_table(summary)
    ab_headers, ab_rows = human_ab_table(summary)
    if rung_rows or ab_rows:
        lines += ["## Human review", ""]
        lines += [*_table(rung_headers, rung_rows), ""] if rung_rows else []
        lines += [*_table(ab_headers, ab_rows), ""] if ab_rows else []
        lines += [human_cost_line(summary) or "", ""]
    rankings = ranking_tables(summary)
    if rankings:
        lines += ["## Ranking from pairwise votes", ""]
        for title, r_headers, r_rows, notes in rankings:
            lines += [f"### {title}", "", *_table(r_headers, r_rows), "", *[f"- {n}" for n in notes], ""]
    return lines


def render_markdown(summary: dict[str, Any], png_name: str = "frontier.png") -> str:
    run = summary["run"]
    lines = [
        f"# ladder report: {run['task_name']}", "",
        f"- run: {run['id']} ({run['status']})",
        f"- model: {run['model']}",
        f"- started / finished: {run['started_at']} / {run['finished_at'] or fmt.DASH}",
        f"- target: {fmt.target_text(summary)}",
        f"- prices: {fmt.prices_text(summary)} (assumptions from task.yaml)",
        f"- volume: {run['volume']:,} requests",
        f"- selection: {fmt.selection_text(summary)}", "",
        "## Recommendation", "",
        *[f"- {line}" for line in fmt.advice_lines(summary)], "",
        "## Quality vs cost", "",
        f"![quality vs cost frontier]({png_name})", "",
        "Frontier (Pareto-optimal rungs): " + (", ".join(summary["frontier"]) or "none") + ".", "",
        "## Rungs", "",
        *_table(*fmt.rung_table(summary)), "",
        fmt.rung_note(summary), "",
    ]
    if fmt.human_labels_text(summary):
        lines += [fmt.human_labels_text(summary), ""]
    notes = [f"- {r['rung']} error: `{r['error']}`" for r in summary["rungs"] if r["error"]]
    notes += [f"- {r['rung']}: {r['eval_stop']} (`--exhaustive` scores every row)"
              for r in summary["rungs"] if r.get("eval_stop")]
    notes += [f"- {r['rung']} build: {r['build_notes']}" for r in summary["rungs"] if r.get("build_notes")]
    lines += [*notes, ""] if notes else []  # a blank line ends the list before the next heading
    check_headers, check_rows = fmt.check_table(summary)
    if check_rows:
        lines += ["## Checks", "", *_table(check_headers, check_rows), "",
                  "Share of answered examples that pass each check (its tag: " + ", ".join(
                      f"{name} = {tag}" for name, tag in fmt.check_tags(summary).items()) + ").", ""]
    if summary.get("judges", {}).get("configured"):
        lines += ["## Judges", "", *_table(*fmt.judge_table(summary)), ""]
        if summary.get("pairwise"):
            lines += [*_table(*fmt.pairwise_table(summary)), ""]
        lines += [f"- {line}" for line in fmt.judge_lines(summary)] + [""]
    if any(r.get("retrieval") for r in summary["rungs"]):
        lines += ["## Retrieval", "", *_table(*retrieval_table(summary)), "",
                  "recall@k and MRR count examples that name their gold source (gold_doc / gold_passage); "
                  "the last column splits the wrong answers by whether a gold chunk was in the prompt.", ""]
    lines += [f"- {line}" for line in comparison_lines(summary)] + ([""] if summary.get("comparisons") else [])
    lines += _tiers(summary)
    lines += ["## Break-even of fine-tuning", ""]
    if not summary["break_even"]:
        lines += ["No fine-tune rung in this run.", ""]
    for b in summary["break_even"]:
        vs = f" vs {b['baseline_rung']}" if b["baseline_rung"] else ""
        # a formula is code; the reason there is none ("... break-even does not apply") is a sentence
        lines.append(f"- **{b['finetune_rung']}**{vs}: " + (f"`{b['formula']}`" if b["baseline_rung"] else b["formula"]))
    if summary["break_even"]:
        lines += ["", fmt.BREAK_EVEN_NOTE]
    lines += ["", "## Diagnosis", "", *_diagnosis(summary)]
    lines += ["## Environment", "", *_table(["what", "value"], [list(r) for r in environment_rows(summary["environment"])]), ""]
    return "\n".join(lines).rstrip() + "\n"
