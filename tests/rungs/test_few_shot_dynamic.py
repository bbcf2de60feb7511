from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ladder.rungs import RungContext
from ladder.rungs.few_shot_dynamic import FewShotDynamic, nearest
from ladder.task import load_task

from .conftest import write_task


def test_nearest_orders_least_similar_first_and_skips_banned():
    train = np.eye(4, dtype=np.float32)
    query = np.array([[0.9, 0.5, 0.1, 0.0]], dtype=np.float32)
    assert nearest(query, train, 2, [set()]) == [[1, 0]]
    assert nearest(query, train, 2, [{0}]) == [[2, 1]]


def test_each_input_gets_its_nearest_training_examples(tmp_path: Path, backend, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    task = load_task(write_task(tmp_path / "t", "  few_shot_dynamic: {k: 1}\n"))
    ctx = RungContext(task=task, backend=backend, artifacts=tmp_path / "a")
    candidate = FewShotDynamic().prepare(ctx, FewShotDynamic.Options(k=1))
    demos = candidate.prompt.describe()["demos"]
    assert demos["e1"] == ["t1"]  # annual leave -> parental leave
    assert demos["e2"] == ["t2"]  # bicycles -> bicycle garage
    chat = candidate.prompt.render(task.eval[1])
    assert [m.role for m in chat] == ["system", "user", "assistant", "user"]
    assert chat[1].content == "Where is the bicycle garage?" and chat[-1].content == task.eval[1].input
    # an input not seen at prepare time is embedded on the fly
    unseen = task.eval[0].__class__(id="new", input="Is there a canteen at work?", expected="")
    assert candidate.prompt.render(unseen)[1].content == "Is there a canteen?"
    with pytest.raises(ValueError, match="needs 9 training examples, the task has 4"):
        FewShotDynamic().prepare(ctx, FewShotDynamic.Options(k=9))


def test_a_near_duplicate_of_the_input_is_never_a_demonstration(tmp_path: Path, backend, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    path = write_task(tmp_path / "t", "  few_shot_dynamic: {k: 1}\n")
    copy = {"id": "t5", "input": "how many days of Annual Leave do staff get??", "expected": "27"}
    with open(path.parent / "data" / "train.jsonl", "a") as f:
        f.write(json.dumps(copy) + "\n")
    task = load_task(path)
    ctx = RungContext(task=task, backend=backend, artifacts=tmp_path / "a")
    candidate = FewShotDynamic().prepare(ctx, FewShotDynamic.Options(k=1))
    # t5 is the nearest by far, but it is e1 with its case and punctuation changed: it would give
    # the answer away, so the next nearest stands in
    assert candidate.prompt.describe()["demos"]["e1"] == ["t1"]
    assert candidate.prompt.demos(task.eval[0].__class__(id="new", input=task.eval[0].input, expected="27")) == (task.train[0],)
    # with another answer it is no copy of the question, and may be shown
    other = task.eval[0].__class__(id="new", input="How many days of annual leave do staff get?", expected="30")
    assert candidate.prompt.demos(other)[0].id == "t5"
