from __future__ import annotations

import pytest

from ladder.retrieval.chunking import Chunk
from ladder.retrieval.metrics import PASSAGE, gold_items, gold_key, mean, recall_at_k, reciprocal_rank


def test_recall_at_k_counts_gold_items_in_the_top_k():
    ranked = ["x", "a", None, "b", "a"]
    assert recall_at_k(ranked, {"a", "b"}, 1) == 0.0
    assert recall_at_k(ranked, {"a", "b"}, 2) == 0.5
    assert recall_at_k(ranked, {"a", "b"}, 4) == 1.0
    assert recall_at_k(ranked, {"a"}, 5) == 1.0  # a gold item found twice counts once
    assert recall_at_k(["a"], {"a", "b", "c"}, 10) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="at least one gold"):
        recall_at_k(ranked, set(), 3)
    with pytest.raises(ValueError, match="k must be > 0"):
        recall_at_k(ranked, {"a"}, 0)


def test_reciprocal_rank_and_mean():
    assert reciprocal_rank(["x", None, "a"], {"a"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["a", "b"], {"b", "a"}) == 1.0
    assert reciprocal_rank(["x", "y"], {"a"}) == 0.0
    # MRR over three queries: ranks 1, 3 and none
    assert mean([1.0, 1 / 3, 0.0]) == pytest.approx(4 / 9)
    assert mean([]) is None


def _chunk(source: str, text: str) -> Chunk:
    return Chunk(id=f"{source}@0-{len(text)}", source=source, start=0, end=len(text), text=text)


def test_gold_key_by_document_record_and_passage():
    assert gold_key(_chunk("leave.md", "x"), ["leave.md"], None) == "leave.md"
    assert gold_key(_chunk("travel.jsonl#budget", "x"), ["travel.jsonl#budget"], None) == "travel.jsonl#budget"
    assert gold_key(_chunk("travel.jsonl#budget", "x"), ["travel.jsonl"], None) == "travel.jsonl"
    assert gold_key(_chunk("other.md", "x"), ["leave.md"], None) is None
    chunk = _chunk("any.md", "Parents receive 19 weeks\nof paid   leave.")
    assert gold_key(chunk, [], "receive 19 weeks of PAID leave") == PASSAGE
    assert gold_key(chunk, [], "receive 20 weeks") is None
    # with a gold doc too, the passage is the target and must be found in that doc
    assert gold_key(chunk, ["any.md"], "receive 19 weeks") == PASSAGE
    assert gold_key(chunk, ["any.md"], "receive 20 weeks") is None
    assert gold_key(chunk, ["other.md"], "receive 19 weeks") is None
    assert gold_items(["a.md"], "text") == {PASSAGE}
    assert gold_items(["a.md", "b.md"], None) == {"a.md", "b.md"}


def test_a_passage_cut_by_a_chunk_boundary_is_found_by_either_half():
    passage = "one two three four five six seven eight"
    assert gold_key(_chunk("d.md", "intro one two three four"), [], passage) == PASSAGE
    assert gold_key(_chunk("d.md", "five six seven eight outro"), [], passage) == PASSAGE
    assert gold_key(_chunk("d.md", "three four five six"), [], passage) is None
    assert gold_key(_chunk("d.md", "one two"), [], "one two three") is None  # short passages: whole only
