"""A recorded run for the review app: three rungs' answers to four questions about a small
invented shop policy, written straight into a real store (the app is what is tested, not a model)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ladder.tracking.store import RungRecord, Store
from ladder.types import Assessment, Example, ExampleResult, Generation, Retrieval, RetrievedChunk

POLICY = ("# Returns\n\nItems can be returned within 30 days of delivery with the receipt. "
          "Opened software cannot be returned.\n\n# Shipping\n\nStandard shipping takes 3 to 5 working days; "
          "express shipping takes one working day and costs 9 euros.\n")
QUESTIONS = [
    ("q1", "How long do I have to return a jacket?", "Within 30 days of delivery, with the receipt."),
    ("q2", "Can I return opened software?", "No: opened software cannot be returned."),
    ("q3", "How long does standard shipping take?", "3 to 5 working days."),
    ("q4", "What does express shipping cost?", "9 euros; it arrives in one working day."),
]
ANSWERS = {  # rung -> (answer, form passed, knowledge passed) per question
    "zero_shot": [("You can return it any time.", True, False), ("Yes, always.", True, False),
                  ("About a week.", True, False), ("It is free.", True, False)],
    "instructed": [("Within 30 days.", True, True), ("No, opened software cannot be returned.", True, True),
                   ("Two weeks.", True, False), ("9 euros.", True, True)],
    "rag": [("Within 30 days of delivery, with your receipt.", True, True),
            ("No, opened software cannot be returned.", True, True),
            ("3 to 5 working days.", True, True), ("It costs 9 euros.", True, True)],
}


@dataclass(frozen=True)
class ReviewRun:
    runs_dir: Path
    run_id: str
    task_path: Path


def write_review_run(folder: Path, run_id: str = "20260101-000000-shop") -> ReviewRun:
    task = folder / "task"
    (task / "corpus").mkdir(parents=True)
    (task / "corpus" / "policy.md").write_text(POLICY)
    (task / "task.yaml").write_text("data: {eval: data/eval.jsonl}\ncorpus: corpus\n")
    runs = folder / "runs"
    spec = {"name": "shop", "corpus": "corpus", "target": {"metric": "overall", "value": 0.9},
            "prices": {"currency": "USD", "input_per_1k": 0.5, "output_per_1k": 1.5}, "volume": 1000}
    with Store(runs) as store:
        store.start_run(run_id, "shop", str(task / "task.yaml"), "hash", spec, "local:test")
        (runs / run_id).mkdir()
        for position, (rung, answers) in enumerate(ANSWERS.items()):
            rows = []
            for (qid, question, reference), (text, form, knowledge) in zip(QUESTIONS, answers):
                gen = Generation(text=text, prompt_tokens=40 + 60 * position, completion_tokens=12, latency_s=0.2)
                checks = (Assessment("one_line", "form", source_name="regex", passed=form),
                          Assessment("answer", "knowledge", source_name="contains", passed=knowledge))
                rows.append(ExampleResult(Example(qid, question, reference), "[]", gen, checks))
            rung_id = store.add_rung_result(RungRecord(run_id, position, rung, "prompt", {"description": rung},
                                                       eval_seconds=1.0), rows)
            if rung == "rag":
                start = POLICY.index("Items")
                hit = RetrievedChunk("policy.md#0", "policy.md", start, start + 60, 0.9, True)
                store.add_retrievals(rung_id, {"q1": Retrieval("How long do I have to return a jacket?", 1, (hit,))})
        store.finish_run(run_id, "finished")
    return ReviewRun(runs, run_id, task / "task.yaml")


@pytest.fixture()
def review_run(tmp_path: Path) -> ReviewRun:
    return write_review_run(tmp_path)
