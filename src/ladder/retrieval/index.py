"""Retrieval indexes that persist on disk, so a second climb loads instead of re-embedding.

An index lives in ``<runs>/artifacts/indexes/<part>-<key>/`` where `part` is bm25 or dense and
`key` hashes (corpus content, chunking parameters, embedder id). A folder holds chunks.jsonl,
the index data (bm25/ or vectors.npy) and manifest.json, and appears at once (written in a
temporary folder, then renamed), so an interrupted build is never picked up. A hybrid retriever
is the bm25 and dense parts of the same chunks, fused.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from ladder.fsutil import publish_dir, staging_dir
from ladder.retrieval.bm25 import BM25Index
from ladder.retrieval.chunking import Chunk, ChunkingSpec, Tokenizer, chunk_corpus, word_spans
from ladder.retrieval.corpus import Corpus
from ladder.retrieval.dense import DenseIndex, Embedder
from ladder.retrieval.hybrid import HybridIndex, Searcher
from ladder.types import content_hash

INDEX_VERSION = 1  # bump when a change here would change what an index holds
RetrieverKind = Literal["bm25", "dense", "hybrid"]


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    rank: int  # from 1


@dataclass(frozen=True)
class Retriever:
    kind: RetrieverKind
    chunks: tuple[Chunk, ...]
    searcher: Searcher
    loaded: bool  # every part came from disk: nothing was chunked, tokenized or embedded
    build_seconds: float  # time spent building now (0 when loaded)
    folders: tuple[Path, ...]

    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        return [[Hit(self.chunks[i], s, r) for r, (i, s) in enumerate(row, start=1)]
                for row in self.searcher.search(queries, k)]


def index_key(corpus: Corpus, chunking: ChunkingSpec, part: str, embedder_id: str | None,
              tokenizer: str = "words") -> str:
    return content_hash(INDEX_VERSION, corpus.fingerprint(), chunking.key(), tokenizer, part, embedder_id)[:20]


def _write_chunks(folder: Path, chunks: Sequence[Chunk]) -> None:
    with open(folder / "chunks.jsonl", "w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")


def _read_chunks(folder: Path) -> list[Chunk]:
    with open(folder / "chunks.jsonl", encoding="utf-8") as f:
        return [Chunk(**json.loads(line)) for line in f if line.strip()]


def _publish(tmp: Path, final: Path, manifest: dict[str, object]) -> None:
    """Write the manifest last, then put the folder in place (fsutil.publish_dir)."""
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    if (final / "manifest.json").exists():  # another builder finished first: keep theirs
        shutil.rmtree(tmp)
        return
    publish_dir(tmp, final)  # replaces a stale or half-made folder (one without a manifest)


def _open_part(part: Literal["bm25", "dense"], corpus: Corpus, chunking: ChunkingSpec, root: Path,
               embedder: Embedder | None, tokenize: Tokenizer) -> tuple[list[Chunk], Searcher, bool, float, Path]:
    emb_id = embedder.id if part == "dense" and embedder is not None else None
    tok_name = getattr(tokenize, "__qualname__", "custom") if tokenize is not word_spans else "words"
    folder = root / f"{part}-{index_key(corpus, chunking, part, emb_id, tok_name)}"
    if (folder / "manifest.json").exists():
        chunks = _read_chunks(folder)
        if part == "bm25":
            return chunks, BM25Index.load(folder / "bm25", len(chunks)), True, 0.0, folder
        assert embedder is not None
        return chunks, DenseIndex(np.load(folder / "vectors.npy"), embedder), True, 0.0, folder

    t0 = time.perf_counter()
    chunks = chunk_corpus(corpus.documents, chunking, tokenize)
    if not chunks:
        raise ValueError(f"{corpus.root}: the corpus has no text to index")
    texts = [c.indexed_text for c in chunks]
    tmp = staging_dir(folder)
    searcher: Searcher
    if part == "bm25":
        bm25 = BM25Index.build(texts)
        bm25.save(tmp / "bm25")
        searcher = bm25
    else:
        assert embedder is not None
        vectors = embedder.encode(texts)
        np.save(tmp / "vectors.npy", vectors)
        searcher = DenseIndex(vectors, embedder)
    _write_chunks(tmp, chunks)
    seconds = time.perf_counter() - t0
    _publish(tmp, folder, {
        "version": INDEX_VERSION, "part": part, "corpus": corpus.fingerprint(), "corpus_root": str(corpus.root),
        "chunking": chunking.key(), "tokenizer": tok_name, "embedder": emb_id, "chunks": len(chunks),
        "build_seconds": seconds,
    })
    return chunks, searcher, False, seconds, folder


def open_retriever(kind: RetrieverKind, corpus: Corpus, chunking: ChunkingSpec, root: Path,
                   embedder: Embedder | None = None, tokenize: Tokenizer = word_spans) -> Retriever:
    """Load the persisted index for (corpus, chunking, embedder), or build and persist it."""
    root = Path(root)
    if kind in ("dense", "hybrid") and embedder is None:
        embedder = Embedder()
    if kind in ("bm25", "dense"):
        chunks, searcher, loaded, secs, folder = _open_part(kind, corpus, chunking, root, embedder, tokenize)
        return Retriever(kind, tuple(chunks), searcher, loaded, secs, (folder,))
    if kind != "hybrid":
        raise ValueError(f"unknown retriever {kind!r}; use bm25, dense or hybrid")
    c1, lex, l1, s1, f1 = _open_part("bm25", corpus, chunking, root, embedder, tokenize)
    c2, den, l2, s2, f2 = _open_part("dense", corpus, chunking, root, embedder, tokenize)
    if [c.id for c in c1] != [c.id for c in c2]:
        raise RuntimeError(f"indexes {f1} and {f2} hold different chunks; delete them to rebuild")
    return Retriever("hybrid", tuple(c1), HybridIndex(lex, den), l1 and l2, s1 + s2, (f1, f2))
