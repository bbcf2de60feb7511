"""Judges in a climb: each rung's answered rows get a verdict after its eval, pairwise judges
compare every rung with their `against` rung afterwards, and the summary and report show judge
coverage, judge errors and evaluation cost. The model and the judge are one real HTTP server on
127.0.0.1 speaking the OpenAI wire format (the answers scripted by the prompt)."""

from __future__ import annotations

import json

from ladder.climb import climb
from ladder.events import JudgeProgress
from ladder.judges.base import SYSTEM
from ladder.report import summarize
from ladder.report.markdown import render_markdown
from ladder.report.render import write_report
from ladder.task import load_task
from ladder.tracking.store import Store

QUESTIONS = {"1": ("Capital of France?", "Paris"), "2": ("Capital of Spain?", "Madrid"),
             "3": ("Capital of Italy?", "Rome"), "4": ("Capital of Peru?", "Lima")}


def write_task(folder, base_url: str) -> None:
    rows = [json.dumps({"id": i, "input": q, "expected": a}) for i, (q, a) in QUESTIONS.items()]
    (folder / "eval.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "task.yaml").write_text(f"""
name: capitals
model: {{backend: openai, base_url: "{base_url}", name: answerer}}
data: {{eval: eval.jsonl}}
prompts: {{instructions: "Answer with the city only."}}
checks: [{{name: said_something, kind: regex, pattern: ".", tag: form}}]
judges:
  - {{name: equivalent, kind: reference, retries: 1, model: {{backend: openai, base_url: "{base_url}", name: judge,
      prices: {{input_per_1k: 1.0, output_per_1k: 2.0}}}}}}
  - {{name: ab, kind: pairwise, against: zero_shot}}
rungs: {{zero_shot: null, instructed: null}}
target: {{metric: knowledge, value: 0.99}}
prices: {{input_per_1k: 0.1, output_per_1k: 0.2}}
""", encoding="utf-8")


def script_for(server):
    def script(request):
        messages = request["messages"]
        if messages[0]["content"] != SYSTEM:  # a rung asking the model: zero_shot knows 2 capitals, instructed 4
            question = messages[-1]["content"]
            instructed = any("city only" in m["content"] for m in messages)
            (_q, city), = [(q, a) for q, a in QUESTIONS.values() if q in question]
            known = instructed or city in ("Paris", "Madrid")
            return server.reply(city if known else ("unsure, garbage" if city == "Lima" else "no idea"))
        text = messages[-1]["content"]
        if "Answer A:" in text:  # the pairwise judge: the answer naming the reference's city wins
            ref = text.split("Reference answer")[1].split("<<<\n")[1].split("\n>>>")[0]
            a = text.split("Answer A:\n<<<\n")[1].split("\n>>>")[0]
            b = text.split("Answer B:\n<<<\n")[1].split("\n>>>")[0]
            winner = "tie" if (ref == a) == (ref == b) else "A" if ref == a else "B"
            return server.reply(json.dumps({"winner": winner, "reason": "names the city"}))
        answer = text.split("Answer to judge:\n<<<\n")[1].split("\n>>>")[0]
        if "garbage" in answer:
            return 200, b"Internal hiccup"
        ref = text.split("Reference answer:\n<<<\n")[1].split("\n>>>")[0]
        return server.reply(json.dumps({"equivalent": answer == ref, "reason": "compared the city"}))
    return script


def test_a_climb_judges_every_rung_and_reports_coverage_and_evaluation_cost(judge_server, tmp_path):
    write_task(tmp_path, judge_server.base_url)
    judge_server.script = script_for(judge_server)
    task = load_task(tmp_path / "task.yaml")
    store = Store(tmp_path / "runs")
    events: list = []
    result = climb(task, store, on_event=events.append)
    assert [o.status for o in result.outcomes] == ["ok", "ok"]
    progress = [e for e in events if isinstance(e, JudgeProgress)]
    assert {(e.rung, e.judge) for e in progress} == {("zero_shot", "equivalent"), ("instructed", "equivalent"),
                                                     ("instructed vs zero_shot", "ab")}
    assert all(e.done == e.total == 4 for e in progress if e.done)

    summary = summarize(store, result.run_id)
    zero, instructed = summary["rungs"]
    # zero_shot: 2 right, 1 wrong, 1 judge_error (after its retry); instructed: 4 right
    assert zero["judges"]["equivalent"]["verdicts"] == 3 and zero["judge_errors"] == 1
    assert zero["judge_coverage"] == 0.75 and instructed["judge_coverage"] == 1.0
    assert zero["knowledge_accuracy"] == 2 / 3 and instructed["knowledge_accuracy"] == 1.0
    assert zero["quality"] == 2 / 3 and instructed["meets_target"] is True  # the target rests on the judge
    # judging cost: 3 readable verdicts of 50 + 10 tokens at the judge's prices (the garbage calls failed)
    cost = zero["evaluation_cost"]
    assert (cost["prompt_tokens"], cost["completion_tokens"]) == (150, 30)
    assert abs(cost["money"] - (150 * 1.0 + 30 * 2.0) / 1000) < 1e-12
    # instructed also pays for the 8 pairwise verdicts (4 pairs x 2 orders), at the task's prices
    assert instructed["evaluation_cost"]["verdicts"] == 4 + 8
    total = summary["evaluation_cost"]
    assert total["verdicts"] == 3 + 1 + 12 and total["money"] > cost["money"]
    assert instructed["build_money"] == 0  # evaluation cost is not build cost
    (pairs,) = summary["pairwise"]
    assert (pairs["rung"], pairs["against"], pairs["wins"], pairs["ties"], pairs["inconsistent"]) == (
        "instructed", "zero_shot", 2, 2, 0)
    # the two rungs are compared, and their judge coverage differs by 25 points: the report says so
    (compared,) = summary["recommendation"]["comparisons"]
    assert "judge equivalent covers 100% of instructed's answers and 75% of zero_shot's" in compared["text"]
    configured = {j["name"]: j for j in summary["judges"]["configured"]}
    assert configured["equivalent"]["rungs"]["zero_shot"]["coverage"] == 0.75
    assert configured["equivalent"]["tag"] == "knowledge" and configured["ab"]["against"] == "zero_shot"
    text = render_markdown(summary)
    assert "## Judges" in text and "75.0% (1 errors)" in text and "Evaluation cost" in text
    paths = write_report(store, result.run_id, tmp_path / "report")
    assert "<h2>Judges</h2>" in paths["html"].read_text() and "judge coverage" in paths["html"].read_text()
    assert json.loads(paths["json"].read_text())["evaluation_cost"]["verdicts"] == total["verdicts"]

    # a second climb reads every answer and verdict from the call cache; only the 2 failed judge calls
    # (never cached) are asked again
    asked = len(judge_server.requests)
    again = climb(task, store)
    assert len(judge_server.requests) == asked + 2 and again.cache_misses == 2
    assert summarize(store, again.run_id)["evaluation_cost"]["money"] == total["money"]
