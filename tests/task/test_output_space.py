"""output_space: labels counted from the training answers, declared, or None for free-form tasks."""

from __future__ import annotations

import json
import random
from pathlib import Path

from ladder.task import load_task
from ladder.task.output_space import OutputSpace, other_answer, output_space


def _task(folder: Path, train_answers: list[str]):
    (folder / "data").mkdir(parents=True)
    rows = [{"input": f"q{i}", "expected": a} for i, a in enumerate(train_answers)]
    (folder / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "data" / "eval.jsonl").write_text(json.dumps({"input": "q", "expected": "yes"}) + "\n")
    (folder / "task.yaml").write_text("name: t\ndata: {train: data/train.jsonl, eval: data/eval.jsonl}\n"
                                      "checks:\n  - {name: a, kind: exact, tag: knowledge}\n")
    return load_task(folder / "task.yaml")


def test_labels_are_the_training_answers_most_frequent_first(tmp_path: Path):
    task = _task(tmp_path / "t", ["no", "yes", "yes", "maybe", "yes", "no"])
    assert output_space(task) == OutputSpace(("yes", "no", "maybe"), (3, 2, 1))


def test_mostly_unique_answers_are_free_form(tmp_path: Path):
    task = _task(tmp_path / "t", ["a", "b", "c", "c"])  # 3 distinct answers for 4 examples
    assert output_space(task) is None
    many = _task(tmp_path / "m", [f"label{i % 25}" for i in range(100)])  # more labels than the limit
    assert output_space(many) is None
    assert output_space(many, max_labels=25) is not None


def test_declared_labels_win_and_are_uniform(tmp_path: Path):
    task = _task(tmp_path / "t", ["a", "b", "c", "d"])
    assert output_space(task, declared=["x", "y", "x"]) == OutputSpace(("x", "y"), (1, 1))


def test_draw_follows_the_training_frequencies():
    space = OutputSpace(("yes", "no"), (9, 1))
    draws = [space.draw(random.Random(s)) for s in range(400)]
    assert set(draws) == {"yes", "no"}
    assert draws.count("yes") > 300  # ~360 expected; "no" would need to win 100 of 400 draws of p=0.1


def test_the_definition_names_every_label_and_nothing_of_the_task():
    text = OutputSpace(('{"c": "a"}', '{"c": "b"}'), (2, 1)).definition()
    assert text.splitlines()[1:] == ['{"c": "a"}', '{"c": "b"}']


def test_other_answer_is_a_different_member_of_the_pool():
    rng = random.Random(0)
    assert all(other_answer("a", ["a", "b", "c", "a"], rng) in {"b", "c"} for _ in range(50))
    assert other_answer("a", ["a", "a"], rng) is None
