"""Knowledge errors on values written in the input (diagnosis/in_input.py): what counts as
written, which checks count as extractive, and the class and next step a real store's run gets."""

from __future__ import annotations

import json

import pytest

from ladder.diagnosis import classify, diagnose
from ladder.diagnosis.classify import TeacherAnswer
from ladder.diagnosis.in_input import (MIN_ROWS, compared_checks, extractive, values_in_input, written,
                                       written_shares)
from ladder.metrics.checks import make_check, run_checks
from ladder.tracking.store import RungRecord, Store
from ladder.types import Example, ExampleResult, Generation


@pytest.mark.parametrize("value, text, found", [
    ("4", "Please ship 4 lamps", True),
    ("4", "order 149 for lamps", False),  # not inside another number
    ("12", "qty 12.", True),  # a sentence's full stop is not a decimal point
    ("0.2", "a shift of 0.25", False),
    ("12", "version 1.12", False),
    ("lyon", "shipped to LYON today", True),
    ("Lyon", "Lyonnais customers", False),
    ("", "anything", False),
    # a number written another way is the same number
    ("1250", "total $1,250.00 due", True),
    ("3.5", "a rate of 3.50% a year", True),
    ("1,250", "we owe 1250 now", True),
    ("2", "serial 1,234", False),  # not a group of another number
    ("1000", "in 10,000 units", False),
    ("1.5", "pages 1,5 and 7", False),  # a comma is not a decimal point here
])
def test_written_is_a_whole_word_or_number_ignoring_case(value, text, found):
    assert written(value, text) is found


CITY = {"name": "city", "kind": "exact", "tag": "knowledge", "extract": r'"city":\s*"([^"]*)"'}
ORDER = {"name": "order", "kind": "numeric", "tag": "knowledge", "extract": r'"order":\s*(\d+)'}
SHAPE = {"name": "shape", "kind": "json", "tag": "form"}
FIXED = {"name": "says ok", "kind": "exact", "tag": "knowledge", "value": "ok"}


def test_only_knowledge_checks_compared_with_the_reference_are_read():
    spec = {"checks": [CITY, ORDER, SHAPE, FIXED, {"name": "gone", "kind": "no-such-kind", "tag": "knowledge"}]}
    assert [c.name for c in compared_checks(spec)] == ["city", "order"]
    checks = compared_checks(spec)
    reference = json.dumps({"order": 703, "city": "Lyon"})
    assert values_in_input("Please ship 2 lamps to Lyon (ref 703).", reference, checks) == \
        {"city": True, "order": True}
    assert values_in_input("Two lamps for the Lyon office", reference, checks) == {"city": True, "order": False}


def test_a_check_is_extractive_on_a_share_of_enough_rows():
    checks = compared_checks({"checks": [CITY]})

    def rows(n_written, n):
        return [(f"to Lyon #{i}" if i < n_written else f"to the office #{i}", '{"city": "Lyon"}') for i in range(n)]

    assert written_shares(rows(8, 10), checks) == {"city": (8, 10)}
    assert extractive(written_shares(rows(8, 10), checks)) == {"city"}
    assert extractive(written_shares(rows(7, 10), checks)) == frozenset()  # below 80%
    assert extractive(written_shares(rows(MIN_ROWS - 1, MIN_ROWS - 1), checks)) == frozenset()  # too few rows


def _wrong_order(form=True):
    from types import SimpleNamespace

    from ladder.types import Assessment

    return SimpleNamespace(example_id="e", input="ship 2 lamps (ref 703)", output="{}", expected="{}",
                           finish_reason="stop", error=None,
                           assessments=(Assessment("shape", "form", passed=form),
                                        Assessment("order", "knowledge", passed=False, rationale="got 2, want 703"),
                                        Assessment("city", "knowledge", passed=True)))


def test_the_class_needs_every_failed_check_in_the_input_and_yields_to_a_teacher():
    wrong = _wrong_order()
    assert classify(wrong).cls == "knowledge"  # no reading evidence: as before
    assert classify(wrong, in_input=frozenset({"city"})).cls == "knowledge"  # the failed one is not written
    found = classify(wrong, in_input=frozenset({"order", "city"}))
    assert found.cls == "knowledge_in_input" and "'order' is written in the input" in found.evidence
    # a teacher's answer to the same prompt is more direct evidence, and keeps its place
    assert classify(wrong, teacher=TeacherAnswer("703", True), in_input=frozenset({"order"})).cls == \
        "knowledge_teacher_right"
    assert classify(_wrong_order(form=False), in_input=frozenset({"order"})).cls == "form_and_knowledge"


def _climbed(store: Store, run_id: str, checks: list[dict], answers: dict[str, list[tuple[str, str, str]]]) -> None:
    """A run whose rungs answered (input, reference, output) rows, scored by the real checks."""
    specs = tuple(make_check(**c) for c in checks)
    store.start_run(run_id, "orders", "orders/task.yaml", "hash", {"name": "orders", "checks": checks,
                                                                   "target": {"value": 0.9}}, "model")
    for position, (rung, rows) in enumerate(answers.items()):
        results = [ExampleResult(Example(id=f"e{i}", input=text, expected=reference), "[]",
                                 Generation(text=output, prompt_tokens=20, completion_tokens=9, latency_s=0.1),
                                 tuple(run_checks(output, reference, specs)))
                   for i, (text, reference, output) in enumerate(rows)]
        store.add_rung_result(RungRecord(run_id, position, rung, "prompt", {"rung": rung}), results)
    store.finish_run(run_id, "finished")


def test_a_misread_order_number_is_a_reading_error_with_its_own_next_step(tmp_path):
    rows = []
    for i in range(12):
        order, city = 700 + i, ("Lyon", "Oslo")[i % 2]
        reference = json.dumps({"order": order, "city": city})
        output = json.dumps({"order": 2 if i < 3 else order, "city": city})  # three misread
        rows.append((f"Please ship 2 lamps to {city} (ref {order}).", reference, output))
    with Store(tmp_path / "runs") as store:
        _climbed(store, "run", [SHAPE, ORDER, CITY], {"few_shot": rows})
        (d,) = diagnose(store, "run")
    assert d.counts == {"knowledge_in_input": 3}
    assert d.next_step.startswith("3 answer(s) got wrong a value that is written in the input")
    assert "retrieval cannot add" in d.next_step and "add retrieval" not in d.next_step
    assert any("'order' (12 of 12 rows)" in n and "'city' (12 of 12 rows)" in n for n in d.notes)


def test_a_label_that_sometimes_appears_in_the_input_is_not_a_reading_error(tmp_path):
    # routing: the label is written in a quarter of the inputs, as ticket-routing's category in 15 of 60
    label = {"name": "category", "kind": "exact", "tag": "knowledge"}
    rows = [(f"my billing statement is wrong #{i}" if i < 3 else f"the app crashes #{i}",
             "billing" if i < 3 else "bug", "bug" if i < 3 else "bug") for i in range(12)]
    with Store(tmp_path / "runs") as store:
        _climbed(store, "run", [label], {"zero_shot": rows})
        (d,) = diagnose(store, "run")
    assert d.counts == {"knowledge": 3} and not d.notes
    assert "add retrieval" in d.next_step
