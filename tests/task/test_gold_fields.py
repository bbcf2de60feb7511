"""gold_doc / gold_passage on eval examples (for the retrieval metrics)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ladder.task.datasets import DataError, read_examples


def _write(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "eval.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_gold_doc_string_or_list_and_passage(tmp_path: Path):
    examples = read_examples(_write(tmp_path, [
        {"input": "q", "expected": "a", "gold_doc": "policies/leave.md"},
        {"input": "q", "expected": "a", "gold_doc": ["a.md", "b.jsonl#r1"], "gold_passage": "27 days"},
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "gold_doc": "c.md"},
        {"input": "q", "expected": "a"},
    ]))
    assert [e.gold_docs for e in examples] == [("policies/leave.md",), ("a.md", "b.jsonl#r1"), ("c.md",), ()]
    assert [e.gold_passage for e in examples] == [None, "27 days", None, None]


@pytest.mark.parametrize("gold, message", [
    ("../secret.md", "must be a path inside the corpus folder"),
    ("/etc/passwd", "must be a path inside the corpus folder"),
    (["ok.md", 3], "'gold_doc' must be a path in the corpus folder or a list of them"),
    ({"doc": "x"}, "'gold_doc' must be a path in the corpus folder or a list of them"),
])
def test_bad_gold_doc_names_file_and_line(tmp_path: Path, gold, message):
    path = _write(tmp_path, [{"input": "q", "expected": "a"}, {"input": "q", "expected": "a", "gold_doc": gold}])
    with pytest.raises(DataError) as e:
        read_examples(path)
    assert e.value.problems[0].startswith(f"{path}:2: ") and message in e.value.problems[0]


def test_empty_gold_passage_is_refused(tmp_path: Path):
    with pytest.raises(DataError, match=r"eval.jsonl:1: 'gold_passage' must be a non-empty string"):
        read_examples(_write(tmp_path, [{"input": "q", "expected": "a", "gold_passage": " "}]))
