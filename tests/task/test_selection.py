"""The selection split: how dev rows are drawn, and the task.yaml mistakes it names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ladder.task import TaskError, load_task
from ladder.task.selection import draw_dev_ids


def test_the_draw_depends_on_the_ids_and_seed_not_the_order():
    ids = [f"r{i}" for i in range(20)]
    drawn = draw_dev_ids(ids, 0.3, seed=1)
    assert len(drawn) == 6 and set(drawn) <= set(ids)
    assert draw_dev_ids(list(reversed(ids)), 0.3, seed=1) == drawn
    assert draw_dev_ids(ids, 0.3, seed=2) != drawn
    # never no dev row, never no test row
    assert len(draw_dev_ids(ids[:3], 0.01, seed=0)) == 1 and len(draw_dev_ids(ids[:3], 0.99, seed=0)) == 2


def _task(folder: Path, extra: str) -> Path:
    rows = [{"id": f"r{i}", "input": f"q{i}", "expected": "a"} for i in range(5)]
    (folder / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "dev.jsonl").write_text(json.dumps({"id": "d", "input": "q", "expected": "a"}) + "\n")
    path = folder / "task.yaml"
    path.write_text("name: t\nchecks: [{name: c, kind: exact, tag: knowledge}]\n" + extra)
    return path


@pytest.mark.parametrize("extra, problem", [
    ("data: {eval: eval.jsonl, dev: dev.jsonl}\nselection: {dev_fraction: 0.2}\n",
     "data.dev and selection both give dev rows: keep one"),
    ("data: {eval: eval.jsonl}\nselection: {dev_fraction: 0.2, dev_ids: [r1]}\n",
     "selection: give dev_fraction or dev_ids, not both"),
    ("data: {eval: eval.jsonl}\nselection: {dev_ids: [r1, nope]}\n", "selection.dev_ids: not eval ids: nope"),
    ("data: {eval: eval.jsonl}\nselection: {dev_ids: [r0, r1, r2, r3, r4]}\n",
     "selection.dev_ids: every eval row is a dev row: nothing is left to report on"),
])
def test_a_split_that_cannot_work_is_named(tmp_path: Path, extra: str, problem: str):
    with pytest.raises(TaskError) as info:
        load_task(_task(tmp_path, extra))
    assert info.value.problems == [problem]


def test_dev_ids_given_by_hand_are_kept(tmp_path: Path):
    task = load_task(_task(tmp_path, "data: {eval: eval.jsonl}\nselection: {dev_ids: [r3, r1]}\n"))
    assert task.dev_ids == {"r1", "r3"} and len(task.eval) == 5
