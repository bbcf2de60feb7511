"""A `sufficiency` judge, when configured, is the source of the diagnosis's `thin` class; without
one the length/coverage heuristic stays, named as a heuristic."""

from __future__ import annotations

from ladder.diagnosis import diagnose
from ladder.tracking.store import Store
from ladder.types import Assessment

LONG_REFERENCE = "Refunds are paid within 14 days to the original card once the returned item has been inspected."


def judged(name: str, passed: bool, tag: str = "knowledge") -> Assessment:
    return Assessment(name, tag, source_kind="llm_judge", source_name=name, passed=passed, rationale=f"{name} said so",
                      metadata={"judge_kind": "sufficiency" if name == "enough" else "reference"})


def run_with_verdicts(store: Store, stored_run, spec: dict, sufficiency: bool = True) -> None:
    # three answers the reference judge passes: a full one, a short one, one the sufficiency judge calls thin
    rows = [("1", "q1", LONG_REFERENCE, None, LONG_REFERENCE), ("2", "q2", "Within 14 days.", None, LONG_REFERENCE),
            ("3", "q3", "Refunds go to the card within 14 days after inspection of the returned item.", None,
             LONG_REFERENCE)]
    ids = stored_run(store, {"instructed": rows}, spec)
    gens = store.generations(ids["instructed"])
    for g, enough in zip(gens, (True, True, False)):
        store.add_assessments(g.id, [judged("equivalent", True)] + ([judged("enough", enough)] if sufficiency else []))


def test_the_sufficiency_judge_decides_what_is_thin(tmp_path, stored_run):
    store = Store(tmp_path)
    run_with_verdicts(store, stored_run, {"judges": [{"name": "equivalent", "kind": "reference"},
                                                     {"name": "enough", "kind": "sufficiency", "tag": "knowledge"}]})
    (d,) = diagnose(store, "r1")
    # thin is the judge's say (row 3), not the length heuristic's (which would call row 2 thin); and a
    # judge tagged knowledge still makes a thin answer thin, not wrong
    assert d.counts == {"thin": 1} and [e.example_id for e in d.examples["thin"]] == ["3"]
    assert "enough said so" in d.examples["thin"][0].evidence
    assert d.judge == "LLM judge enough (sufficiency)"


def test_without_a_sufficiency_judge_the_heuristic_stays_named_as_such(tmp_path, stored_run):
    store = Store(tmp_path)
    run_with_verdicts(store, stored_run, {"judges": [{"name": "equivalent", "kind": "reference"}]}, sufficiency=False)
    (d,) = diagnose(store, "r1")
    assert d.judge.startswith("thin-answer heuristic") and [e.example_id for e in d.examples["thin"]] == ["2"]
