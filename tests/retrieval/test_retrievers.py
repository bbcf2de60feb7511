"""BM25, dense and hybrid ranking on a tiny corpus with known answers; persisted index reuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ladder.retrieval.chunking import ChunkingSpec
from ladder.retrieval.corpus import read_corpus
from ladder.retrieval.dense import Embedder
from ladder.retrieval.hybrid import rrf
from ladder.retrieval.index import open_retriever

from .conftest import KNOWN

SPEC = ChunkingSpec("paragraphs", size=40, overlap=5)


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def test_rrf_arithmetic():
    fused = rrf([[1, 2, 3], [3, 1]], c=60)
    scores = dict(fused)
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[2] == pytest.approx(1 / 62)
    assert [i for i, _ in fused] == [1, 3, 2]
    assert rrf([[5, 4], [4, 5]]) == [(4, pytest.approx(1 / 61 + 1 / 62)), (5, pytest.approx(1 / 61 + 1 / 62))]


@pytest.mark.parametrize("kind", ["bm25", "dense", "hybrid"])
def test_each_retriever_ranks_the_answering_document_first(kind: str, corpus_dir: Path, tmp_path: Path):
    retriever = open_retriever(kind, read_corpus(corpus_dir), SPEC, tmp_path / "idx")
    rows = retriever.search([q for q, _ in KNOWN], k=3)
    for (query, source), hits in zip(KNOWN, rows):
        assert hits, query
        assert hits[0].chunk.source == source, (kind, query, [h.chunk.id for h in hits])
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
        assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))


def test_bm25_returns_nothing_for_a_query_with_no_shared_word(corpus_dir: Path, tmp_path: Path):
    retriever = open_retriever("bm25", read_corpus(corpus_dir), SPEC, tmp_path / "idx")
    assert retriever.search(["zebra xylophone"], k=3) == [[]]


def test_dense_finds_a_paraphrase_that_bm25_misses(corpus_dir: Path, tmp_path: Path):
    corpus = read_corpus(corpus_dir)
    query = "Where should I leave my bike?"  # no content word in common with the parking text but "leave"
    bm25 = open_retriever("bm25", corpus, SPEC, tmp_path / "idx").search([query], 1)[0]
    dense = open_retriever("dense", corpus, SPEC, tmp_path / "idx").search([query], 1)[0]
    assert bm25[0].chunk.source == "leave.md"
    assert dense[0].chunk.source == "office/parking.txt"


def test_second_open_loads_the_persisted_index_without_embedding(corpus_dir: Path, tmp_path: Path):
    corpus = read_corpus(corpus_dir)
    first_embedder = Embedder()
    first = open_retriever("hybrid", corpus, SPEC, tmp_path / "idx", embedder=first_embedder)
    assert not first.loaded and first_embedder.passages_encoded == len(first.chunks)
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "idx").iterdir()) == ["bm25", "dense"]
    manifest = json.loads((first.folders[1] / "manifest.json").read_text())
    assert manifest["chunks"] == len(first.chunks) and manifest["embedder"] == first_embedder.id

    second_embedder = Embedder()
    second = open_retriever("hybrid", read_corpus(corpus_dir), SPEC, tmp_path / "idx", embedder=second_embedder)
    assert second.loaded and second.build_seconds == 0.0
    assert second_embedder.passages_encoded == 0  # nothing re-embedded
    assert [c.id for c in second.chunks] == [c.id for c in first.chunks]
    query = [KNOWN[0][0]]
    assert [h.chunk.id for h in second.search(query, 3)[0]] == [h.chunk.id for h in first.search(query, 3)[0]]
    assert second_embedder.passages_encoded == 1  # only the query


def test_a_changed_corpus_or_chunking_builds_a_new_index(corpus_dir: Path, tmp_path: Path):
    root = tmp_path / "idx"
    open_retriever("bm25", read_corpus(corpus_dir), SPEC, root)
    assert open_retriever("bm25", read_corpus(corpus_dir), ChunkingSpec("tokens", 20, 5), root).loaded is False
    (corpus_dir / "new.md").write_text("A new document about holidays.\n")
    rebuilt = open_retriever("bm25", read_corpus(corpus_dir), SPEC, root)
    assert not rebuilt.loaded and any(c.source == "new.md" for c in rebuilt.chunks)
    assert len(list(root.iterdir())) == 3


def test_a_folder_without_manifest_is_not_trusted(corpus_dir: Path, tmp_path: Path):
    root = tmp_path / "idx"
    first = open_retriever("bm25", read_corpus(corpus_dir), SPEC, root)
    (first.folders[0] / "manifest.json").unlink()  # as if a build had been interrupted
    again = open_retriever("bm25", read_corpus(corpus_dir), SPEC, root)
    assert not again.loaded and (again.folders[0] / "manifest.json").exists()
