"""m002: what retrieval rungs retrieved, per generation, round-trips through the store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ladder.tracking.store import RungRecord, Store
from ladder.types import Example, ExampleResult, Generation, Retrieval, RetrievedChunk


def test_retrievals_round_trip_and_gold_retrieved(tmp_path: Path):
    store = Store(tmp_path)
    store.start_run("r1", "t", "task.yaml", "h", {}, "m")
    examples = [Example("a", "q1", "x"), Example("b", "q2", "y"), Example("c", "q3", "z")]
    rows = [ExampleResult(e, "[]", Generation("out", 1, 1, 0.1)) for e in examples]
    rid = store.add_rung_result(RungRecord("r1", 0, "rag(bm25,c40,k2)", "prompt", {}), rows)
    hit = RetrievedChunk("doc.md@0-5", "doc.md", 0, 5, 1.5, True)
    miss = RetrievedChunk("other.md@0-9", "other.md", 0, 9, 0.5, False)
    records = {
        "a": Retrieval("q1", 2, (miss, hit), gold=("doc.md",), recall=1.0, reciprocal_rank=0.5),
        "b": Retrieval("q2", 2, (miss,), gold=("doc.md",), recall=0.0, reciprocal_rank=0.0),
        "c": Retrieval("q3", 2, (RetrievedChunk("x@0-1", "x", 0, 1, 0.1),)),  # no gold known
        "unknown": Retrieval("q4", 2, ()),
    }
    assert store.add_retrievals(rid, records) == 3
    got = store.retrievals(rid)
    by_query = {r.query: r for r in got.values()}
    assert by_query["q1"] == records["a"] and by_query["q2"] == records["b"] and by_query["q3"] == records["c"]
    db = sqlite3.connect(store.path)
    flags = dict(db.execute("SELECT query, gold_retrieved FROM retrievals").fetchall())
    assert flags == {"q1": 1, "q2": 0, "q3": None}
    names = [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert names.index("m001_initial") < names.index("m002_retrievals")
