"""examples/support-replies: the data loads, every reference passes its own tier-1 checks, the
checks tell one policy from another, no eval message is a near-duplicate of a training one, the
held-out clauses are held out, and the committed files are what make_data.py writes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ladder.metrics.checks import run_checks
from ladder.task import Task, load_task
from ladder.task.near_duplicates import near_duplicates, similarity
from ladder.task.spec import TaskSpec

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support-replies"


@pytest.fixture(scope="module")
def task(tmp_path_factory) -> Task:
    """The example's task. Until TaskSpec knows `judges:` (being added on another branch), it is
    loaded from a copy of task.yaml without that block; once it does, from task.yaml itself."""
    if "judges" in TaskSpec.model_fields:
        return load_task(EXAMPLE / "task.yaml")
    spec = yaml.safe_load((EXAMPLE / "task.yaml").read_text(encoding="utf-8"))
    spec.pop("judges")
    spec["data"] = {k: str(EXAMPLE / v) for k, v in spec["data"].items()}
    spec["corpus"] = str(EXAMPLE / spec["corpus"])
    path = tmp_path_factory.mktemp("support-replies") / "task.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return load_task(path)


def code_of(example_id: str) -> str:
    return "-".join(example_id.split("-")[:2]).upper()  # "ret-4-unseen" / "ret-4-t2" -> "RET-4"


def passes(task: Task, example, answer: str) -> dict[str, bool]:
    found = run_checks(answer, example.expected, list(task.spec.checks) + list(example.checks), example)
    assert not [a for a in found if a.error], [a.error for a in found]
    return {a.name: bool(a.passed) for a in found}


def test_sizes_and_judges(task):
    assert len(task.eval) >= 40 and 80 <= len(task.train) <= 120
    judges = yaml.safe_load((EXAMPLE / "task.yaml").read_text(encoding="utf-8"))["judges"]
    assert {(j["kind"], j["tag"]) for j in judges} == {("reference", "knowledge"), ("sufficiency", "helpfulness")}
    assert task.spec.target.metric == "knowledge"


def test_every_reference_passes_its_own_checks(task):
    failing = {ex.id: p for ex in task.eval + task.train if not all((p := passes(task, ex, ex.expected)).values())}
    assert failing == {}
    assert all(len(ex.checks) == 2 for ex in task.eval + task.train)  # policy code and key figure


def test_the_checks_tell_policies_apart(task):
    """Another clause's reference (another code) fails this row's policy-code check, and the
    question alone never passes the row's knowledge checks (echoing it earns nothing)."""
    by_code = {code_of(ex.id): ex for ex in task.eval}
    for ex in task.eval:
        other = by_code["SHP-2" if code_of(ex.id) != "SHP-2" else "SUB-1"]
        assert passes(task, ex, other.expected)["policy code"] is False, ex.id
        got = passes(task, ex, ex.input)
        assert not got["policy code"] and not got["key figure"], ex.id


@pytest.mark.parametrize("answer, ok", [
    ("Under policy RET-2, the label costs $6.50. We deduct it from your refund.", True),
    ("Under policy RET-2, the label costs $6.50 and we deduct it from your refund.", False),   # one sentence
    ("One. Two. Three. Four. Five.", False),
    ("The label costs $6.50. We deduct it from your refund and", False),                      # cut off
    ("Yes! Write to security@tallowmere.example. They reply within 24 hours?", True),
])
def test_form_check_counts_two_to_four_sentences(task, answer, ok):
    assert passes(task, task.eval[1], answer)["two to four sentences"] is ok


def test_no_eval_message_is_a_near_duplicate_of_a_training_one(task):
    assert [p.line() for p in near_duplicates(task.train, task.eval)] == []
    # Stricter than ladder's rule (which also needs the same answer): no eval message shares
    # even half of its word 3-grams with a training message.
    closest = max(similarity(e.input, t.input) for e in task.eval for t in task.train)
    assert closest < 0.5


def test_held_out_clauses_are_only_in_the_corpus(task):
    train_answers = " ".join(ex.expected for ex in task.train)
    unseen = [ex for ex in task.eval if ex.id.endswith("-unseen")]
    seen = [ex for ex in task.eval if ex.id.endswith("-seen")]
    assert len(unseen) >= 10 and len(seen) + len(unseen) == len(task.eval)
    for ex in unseen:
        assert not re.search(ex.checks[0].pattern, train_answers, re.IGNORECASE), ex.id
    for ex in seen:
        assert sum(code_of(t.id) == code_of(ex.id) for t in task.train) == 3, ex.id
    for ex in task.eval:
        (doc,) = ex.gold_docs
        text = (EXAMPLE / "corpus" / doc).read_text(encoding="utf-8")
        assert ex.gold_passage in text and f"## {code_of(ex.id)}:" in text, ex.id


def test_committed_files_are_what_make_data_writes(tmp_path):
    for name in ("make_data.py", "policies.yaml"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    subprocess.run([sys.executable, str(tmp_path / "make_data.py")], check=True, capture_output=True)
    for folder in ("data", "corpus"):
        made = {p.name: p.read_bytes() for p in (tmp_path / folder).iterdir()}
        committed = {p.name: p.read_bytes() for p in (EXAMPLE / folder).iterdir()}
        assert made == committed, folder
