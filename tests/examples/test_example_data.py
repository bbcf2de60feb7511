"""The shipped examples load, and their splits keep the promises their READMEs make."""

from __future__ import annotations

from pathlib import Path

import pytest

from ladder.task import load_task

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", ["balance-shift", "handbook", "ticket-routing"])
def test_example_task_loads(name):
    task = load_task(EXAMPLES / name / "task.yaml")
    assert len(task.eval) >= 30 and len(task.train) >= 40


def test_balance_shift_eval_inputs_never_seen_in_training():
    task = load_task(EXAMPLES / "balance-shift" / "task.yaml")
    assert not {e.input for e in task.eval} & {e.input for e in task.train}


def test_handbook_gold_sources_exist_and_eval_facts_are_held_out():
    task = load_task(EXAMPLES / "handbook" / "task.yaml")
    corpus = EXAMPLES / "handbook" / "corpus"
    for ex in task.train + task.eval:
        assert ex.gold_docs, ex.id
        for doc in ex.gold_docs:
            text = (corpus / doc).read_text()
            assert ex.gold_passage is None or ex.gold_passage in text, ex.id
    train_passages = {e.gold_passage for e in task.train}
    # No training question asks about the fact an eval question asks about.
    assert not {e.gold_passage for e in task.eval} & train_passages
