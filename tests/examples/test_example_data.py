"""The shipped examples load, and their splits keep the promises their READMEs make."""

from __future__ import annotations

from pathlib import Path

import pytest

from ladder.task import load_task

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", ["balance-shift", "handbook", "romeo-bob", "ticket-routing", "order-intake"])
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


def test_romeo_bob_text_never_says_romeo_and_only_the_probes_ask_for_bob():
    import re

    task = load_task(EXAMPLES / "romeo-bob" / "task.yaml")
    corpus = EXAMPLES / "romeo-bob" / "corpus"
    docs = {p.name: p.read_text(encoding="utf-8") for p in corpus.glob("*.md")}
    assert len(docs) >= 8 and sum(len(re.findall(r"[.!?]", t)) for t in docs.values()) >= 300
    assert not [name for name, text in docs.items() if re.search("romeo", text, re.IGNORECASE)]
    assert len(task.eval) == 30 and len(task.train) >= 40
    for ex in task.eval:
        assert ex.expected == "Bob." and ex.gold_docs, ex.id
        assert all("Bob" in docs[d] for d in ex.gold_docs), ex.id
    # Training answers teach the form only: none of them is the name being probed.
    assert not [ex.id for ex in task.train if "Bob" in ex.expected]
    assert not {e.input for e in task.eval} & {e.input for e in task.train}


@pytest.mark.parametrize("name", ["balance-shift", "handbook", "romeo-bob", "ticket-routing", "order-intake"])
def test_no_eval_row_is_a_near_duplicate_of_a_training_row(name):
    from ladder.task.near_duplicates import near_duplicates

    task = load_task(EXAMPLES / name / "task.yaml")
    assert [p.line() for p in near_duplicates(task.train, task.eval)] == []


def test_order_intake_writes_every_value_in_its_message():
    """The README's promise: a wrong value is a misreading, since every value is in the input
    (and the diagnosis finds all three checks extractive)."""
    from ladder.diagnosis.in_input import compared_checks, extractive, written_shares

    task = load_task(EXAMPLES / "order-intake" / "task.yaml")
    checks = compared_checks(task.spec.model_dump(mode="json"))
    assert [c.name for c in checks] == ["order", "quantity", "city"]
    for split in (task.train, task.eval):
        shares = written_shares([(e.input, e.expected) for e in split], checks)
        assert shares == {c.name: (len(split), len(split)) for c in checks}
    assert extractive(shares) == {"order", "quantity", "city"}
    assert not {e.input for e in task.eval} & {e.input for e in task.train}
