"""Text formatting shared by the HTML and Markdown reports: one definition of the rung table."""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from ladder.report.summary import num
from ladder.scoring import codes_text

DASH = "—"
_NUMBER_FIRST = re.compile(r"[-+]?\d")
_NO_FIGURE = {"", DASH, "-", "n/a", "None"}


def numeric_columns(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[bool]:
    """Per column of a table drawn in HTML, whether it holds figures (aligned right, its header
    too) rather than names: every cell that shows something starts with a number ("0.0% [0.0–22.8]",
    "1 (other: 1)")."""
    shown = [[str(c).strip() for c in col if str(c).strip() not in _NO_FIGURE] for col in zip(*rows)] if rows else []
    return [i < len(shown) and bool(shown[i]) and all(_NUMBER_FIRST.match(c) for c in shown[i])
            for i in range(len(headers))]


def pct(x: float | None) -> str:
    return DASH if x is None else f"{100 * x:.1f}%"


def acc(r: dict[str, Any], metric: str) -> str:
    """`92.3% [88.0–95.1]`: the accuracy with its 95% interval (summary run.interval_method)."""
    return with_interval(r.get(f"{metric}_accuracy"), r.get(f"{metric}_ci"))


def with_interval(value: float | None, ci: list[float] | None) -> str:
    if value is None:
        return DASH
    return f"{pct(value)} [{100 * ci[0]:.1f}–{100 * ci[1]:.1f}]" if ci else pct(value)


def fixed(x: float | None, places: int = 1) -> str:
    return DASH if x is None else f"{x:.{places}f}"


def money(x: float | None) -> str:
    return DASH if x is None else num(x)


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _build_seconds(r: dict[str, Any]) -> str:
    s = fixed(r["build_seconds"], 1)
    return f"{s} (reused)" if r["build_reused"] else s


def errors_cell(r: dict[str, Any]) -> str:
    """The error count with its codes, e.g. `3 (429: 2, timeout: 1)`."""
    detail = codes_text(r.get("error_codes") or {})
    return f"{r['n_errors']} ({detail})" if detail else str(r["n_errors"])


def rung_columns(summary: dict[str, Any]) -> list[tuple[str, Callable[[dict[str, Any]], str]]]:
    """(header, cell) pairs of the per-rung table, in order; a dev column with a selection split."""
    currency, run = summary["run"]["currency"], summary["run"]
    split = bool(run["selection"].get("n_dev"))
    cols: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("rung", lambda r: r["rung"]),
        ("kind", lambda r: r["kind"]),
        ("status", lambda r: r["status"]),
        ("n", lambda r: str(r["n"])),
        ("errors", errors_cell),
        ("coverage", lambda r: pct(r["coverage"])),
        (f"{run['target_metric']} for target (95% CI)", lambda r: with_interval(r["quality"], r["quality_ci"])),
    ]
    if split:
        cols.append(("dev (chosen on)", lambda r: pct(r["dev_quality"])))
    judged = [("judge coverage", lambda r: pct(r.get("judge_coverage"))),
              ("judge errors", lambda r: str(r.get("judge_errors", 0))),
              (f"eval cost ({currency})", lambda r: money((r.get("evaluation_cost") or {}).get("money")))]
    if not summary.get("judges", {}).get("configured"):
        judged = []
    return cols + judged + [
        ("form acc (95% CI)", lambda r: acc(r, "form")),
        ("knowledge acc (95% CI)", lambda r: acc(r, "knowledge")),
        ("overall acc (95% CI)", lambda r: acc(r, "overall")),
        ("prompt tok/req", lambda r: fixed(r["prompt_tokens"])),
        ("completion tok/req", lambda r: fixed(r["completion_tokens"])),
        ("latency s/req", lambda r: fixed(r["latency_s"], 3)),
        ("cached", lambda r: pct(r["cached_share"])),
        ("build s", _build_seconds),
        (f"build cost ({currency})", lambda r: money(r["build_money"])),
        (f"cost / 1K req ({currency})", _request_cost),
        ("on frontier", lambda r: yes(r["on_frontier"])),
        ("meets target", lambda r: yes(r["meets_target"])),
    ]


def _request_cost(r: dict[str, Any]) -> str:
    """A rung answered through a Batch API is priced at the batch price, and says so."""
    shown = money(r["cost_per_1k_requests"])
    if r.get("execution") == "batch" and r.get("live_cost_per_1k_requests") is not None:
        return f"{shown} (batch; live {money(r['live_cost_per_1k_requests'])})"
    return shown


def rung_table(summary: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the per-rung table, as display strings."""
    cols = rung_columns(summary)
    return [h for h, _ in cols], [[cell(r) for _, cell in cols] for r in summary["rungs"]]


def rung_note(summary: dict[str, Any]) -> str:
    """The footnote under the rung table: what each figure counts and how its interval is made."""
    run = summary["run"]
    rows = "test rows (the eval rows that are not dev rows)" if run["selection"].get("n_dev") else "eval rows"
    return (f"Figures are over the {rows}. `{run['target_metric']} for target` is what the target is compared "
            "with: passes / rows attempted, a failed call counting as a failure; coverage is the share of rows "
            "whose call succeeded. The form, knowledge and overall accuracies are shares of examples whose "
            "checks and judges of that tag all pass (overall: every one), among the examples they could score (a "
            "failed call, a check that cannot read the reference or a judge_error is neither a pass nor a failure "
            f"there). Brackets are {run['interval_method']} 95% intervals. Tokens, latency and cost are means per "
            "answered request. A rung whose first rows showed it could not meet the target stopped there when "
            "another rung met it, or when it could not beat the best rung either (sequential evaluation): its n "
            "is the rows it was scored on.")


def human_labels_text(summary: dict[str, Any]) -> str:
    """One line counting the people's labels per rung (`ladder review`); empty when there are none."""
    counts = {rung: h for rung, h in (summary.get("human_labels") or {}).items() if h["ratings"] or h["ab_choices"]}
    if not counts:
        return ""
    return "Human labels (ladder review): " + "; ".join(
        f"{rung} {h['ratings']} rated answer(s) by {h['raters']} rater(s), {h['ab_choices']} A/B choice(s)"
        for rung, h in counts.items()) + "."


def judge_table(summary: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """One row per configured judge: what it is, the scoring it used, its coverage on each rung."""
    judges = summary.get("judges", {}).get("configured") or []
    names = [r["rung"] for r in summary["rungs"] if r["status"] == "ok"]
    rows = []
    for j in judges:
        used = ", ".join(f"{how} ({n})" for how, n in j["scoring_used"].items()) or DASH
        scoring = DASH if j["scoring"] is None else f"{j['scoring']}; used: {used}"
        cells = []
        for name in names:
            c = j["rungs"].get(name)
            cells.append(DASH if c is None else f"{pct(c['coverage'])} ({c['errors']} errors)")
        what = j["kind"] + (f" vs {j['against']}" if j["against"] else "")
        rows.append([j["name"], what, j["tag"] or DASH, j["model"], scoring, *cells])
    return ["judge", "kind", "tag", "model", "scoring", *(f"{n} coverage" for n in names)], rows


def pairwise_table(summary: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    headers = ["judge", "rung", "against", "pairs", "wins", "losses", "ties (inconsistent)", "errors",
               "win rate (95% CI)"]
    rows = [[p["judge"], p["rung"], p["against"], str(p["pairs"]), str(p["wins"]), str(p["losses"]),
             f"{p['ties']} ({p['inconsistent']})", str(p["errors"]), with_interval(p["win_rate"], p["win_rate_ci"])]
            for p in summary.get("pairwise") or []]
    return headers, rows


def judge_lines(summary: dict[str, Any]) -> list[str]:
    """The judges' footnotes: coverage, errors, scoring, pairwise reading, cost of evaluation."""
    cost = summary.get("evaluation_cost") or {}
    currency = summary["run"]["currency"]
    lines = [
        "Coverage is verdicts / answered rows; a judge_error (an unreadable or failed verdict after its retries) is "
        "neither a pass nor a failure and is left out of the accuracies, like a check that cannot score.",
        "Scoring: argmax is the verdict the judge wrote; logprobs weighs token probabilities, used only where the "
        "judge model returned them: for a rubric the probability-weighted mean of the score tokens 1-5 (G-Eval), for "
        "a reference or sufficiency judge the more probable of true and false (its score P(true)).",
        f"Evaluation cost (the judges' calls, apart from build and serving): {cost.get('verdicts', 0)} verdicts, "
        f"{cost.get('prompt_tokens', 0):,} prompt + {cost.get('completion_tokens', 0):,} completion tokens, "
        f"{money(cost.get('money'))} {currency}, {fixed(cost.get('seconds'))} s of judge time.",
    ]
    if summary.get("pairwise"):
        lines.append("Pairwise: each pair is asked in both orders; the same winner both ways is a win or loss, "
                     "anything else an inconsistent pair, counted as a tie. Win rate = wins / decided pairs.")
    return lines


def selection_text(summary: dict[str, Any]) -> str:
    return summary["run"]["selection"]["text"]


def break_even_line(b: dict[str, Any]) -> str:
    vs = f" vs {b['baseline_rung']}" if b.get("baseline_rung") else ""
    return f"{b['finetune_rung']}{vs}: {b['formula']}"


def check_table(summary: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Per rung, the pass rate of every check (columns in first-seen order); empty without checks."""
    names: list[str] = []
    for r in summary["rungs"]:
        names += [n for n in r["check_rates"] if n not in names]
    if not names:
        return [], []
    rows = [[r["rung"], *(_rate(r["check_rates"][n]) if n in r["check_rates"] else DASH for n in names)]
            for r in summary["rungs"]]
    return ["rung", *names], rows


def _rate(rate: dict[str, Any]) -> str:
    """A check's pass rate, and how often it could not score an answer (e.g. unreadable reference)."""
    errors = rate.get("n_errors", 0)
    return pct(rate["pass_rate"]) + (f" ({errors} not scored)" if errors else "")


def check_tags(summary: dict[str, Any]) -> dict[str, str]:
    """Check name -> its tag (form or knowledge), over every rung."""
    return {n: c["tag"] for r in summary["rungs"] for n, c in r["check_rates"].items()}


def target_text(summary: dict[str, Any]) -> str:
    run = summary["run"]
    return f"{run['target_metric']} accuracy >= {num(run['target_value'])}"


def prices_text(summary: dict[str, Any]) -> str:
    p = summary["run"]["prices"]
    text = (f"{num(p['input_per_1k'])} {p['currency']} per 1K prompt tokens, "
            f"{num(p['output_per_1k'])} per 1K completion tokens, "
            f"{num(p['train_per_hour'])} per training hour")
    finetuned = [f"{num(p[key])} per 1K {what} tokens" for key, what in
                 (("finetuned_input_per_1k", "prompt"), ("finetuned_output_per_1k", "completion"))
                 if p.get(key) is not None]
    return text + (f"; a fine-tuned model: {', '.join(finetuned)}" if finetuned else "")


def advice_lines(summary: dict[str, Any]) -> list[str]:
    """The recommendation as plain sentences: rung, quality with interval, cost, why, next step,
    the paired comparisons with the alternatives, and how far the figure can be trusted."""
    rec, run = summary["recommendation"], summary["run"]
    lines = []
    if rec["rung"]:
        ci = rec["quality_ci"]
        interval = f" (95% CI {pct(ci[0])}–{pct(ci[1])})" if ci else ""
        lines.append(f"Recommended rung ({rec['scenario']} scenario): {rec['rung']} — {run['target_metric']} "
                     f"accuracy {pct(rec['quality'])}{interval}, {money(rec['cost_per_1k_requests'])} "
                     f"{run['currency']} per 1K requests; target {'met' if rec['meets_target'] else 'not met'}.")
    lines.append(f"Why: {rec['reason']}.")
    if rec.get("next_step"):
        lines.append(f"Next step: {rec['next_step']}.")
    lines += [c["text"] + "." for c in rec.get("comparisons", [])]
    lines += [n[0].upper() + n[1:] + "." for n in rec.get("notes", [])]
    return lines


def diagnosis_table(summary: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Per rung: examples, the count of each failure class seen in the run, the dominant class."""
    seen = [c for c in summary["failure_classes"] if any(c in d["counts"] for d in summary["diagnosis"])]
    headers = ["rung", "n", *seen, "dominant"]
    rows = [[d["rung"], str(d["n"]), *(str(d["counts"].get(c, 0)) for c in seen), d["dominant"] or DASH]
            for d in summary["diagnosis"]]
    return headers, rows


BREAK_EVEN_NOTE = ("N = (build cost of the fine-tune - build cost of the other rung) / (cost per request of the "
                   "other rung - cost per request of the fine-tune), input and output tokens priced at each rung's "
                   "serving prices (prices.finetuned_* for a fine-tune, where given). Only rungs that meet the "
                   "target are compared, against the cheaper-to-build one that costs least over the volume.")
