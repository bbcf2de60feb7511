"""The Markdown report: the same content as report.html, for terminals, PRs and wikis."""

from __future__ import annotations

import re
from typing import Any

from ladder.report import fmt


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


def _failures(rung: dict[str, Any]) -> list[str]:
    lines = [f"### {rung['rung']}: {rung['n_failed']} of {rung['n']} examples failed", ""]
    if not rung["failures"]:
        return lines + ["No failed examples.", ""]
    for f in rung["failures"]:
        lines += [f"**example {f['example_id']}**" + (f" (finish: {f['finish_reason']})"
                                                       if f["finish_reason"] != "stop" else ""), ""]
        for label, key in (("input", "input"), ("output", "output"), ("reference", "expected")):
            lines += [f"{label}:", *_fenced(f[key]), ""]
        if f["error"]:
            lines += [f"error: `{f['error']}`", ""]
        lines += [f"- `{c['name']}` ({c['tag']})" + (f": {c['detail']}" if c["detail"] else "")
                  for c in f["failed_checks"]]
        lines.append("")
    return lines


def render_markdown(summary: dict[str, Any], png_name: str = "frontier.png") -> str:
    run, rec = summary["run"], summary["recommendation"]
    lines = [
        f"# ladder report: {run['task_name']}", "",
        f"- run: {run['id']} ({run['status']})",
        f"- model: {run['model']}",
        f"- started / finished: {run['started_at']} / {run['finished_at'] or fmt.DASH}",
        f"- target: {fmt.target_text(summary)}",
        f"- prices: {fmt.prices_text(summary)} (assumptions from task.yaml)",
        f"- volume: {run['volume']:,} requests", "",
        "## Recommendation", "",
        (f"Recommended rung: **{rec['rung']}**. " if rec["rung"] else "") + rec["reason"], "",
        "## Quality vs cost", "",
        f"![quality vs cost frontier]({png_name})", "",
        "Frontier (Pareto-optimal rungs): " + (", ".join(summary["frontier"]) or "none") + ".", "",
        "## Rungs", "",
        *_table(*fmt.rung_table(summary)), "",
        "Accuracies are shares of eval examples whose checks of that tag all pass (overall: every "
        "check); brackets are bootstrap 95% intervals. Tokens and latency are means per request.", "",
    ]
    lines += [f"- {r['rung']} error: `{r['error']}`" for r in summary["rungs"] if r["error"]]
    lines += ["## Break-even of fine-tuning", ""]
    if not summary["break_even"]:
        lines += ["No fine-tune rung in this run.", ""]
    for b in summary["break_even"]:
        vs = f" vs {b['prompt_rung']}" if b["prompt_rung"] else ""
        lines.append(f"- **{b['finetune_rung']}**{vs}: `{b['formula']}`")
    lines += ["", "## Failed examples", ""]
    for r in summary["rungs"]:
        lines += _failures(r)
    return "\n".join(lines).rstrip() + "\n"
