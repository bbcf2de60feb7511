"""Benchmark: retrieval index build time, query latency (p50/p95) and embedding throughput.

    .venv/bin/python bench/retrieval.py [--sizes 1000 10000] [--dense-cap-s 240] [--append]

Synthetic documents (made up here from a fixed vocabulary and seed) are cut by ladder's own
chunker into ~100-word chunks until there are N; BM25 (bm25s), dense (all-MiniLM-L6-v2) and
hybrid (RRF of both) indexes are built over them, then 200 single queries are timed one by one.
Dense embedding of a large N is bounded by --dense-cap-s: past it the remaining vectors are
random unit vectors (query latency barely depends on them; the encoder dominates) and the
build time is extrapolated from the measured rate; the table says so.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from climb import cpu_description  # noqa: E402

from ladder.retrieval.bm25 import BM25Index  # noqa: E402
from ladder.retrieval.chunking import ChunkingSpec, chunk_corpus  # noqa: E402
from ladder.retrieval.corpus import Document  # noqa: E402
from ladder.retrieval.dense import DenseIndex, Embedder  # noqa: E402
from ladder.retrieval.hybrid import HybridIndex  # noqa: E402

SUBJECTS = "the office the canteen a manager the travel desk each employee the board a contractor the team".split(" ")
VERBS = "approves reviews schedules reimburses audits publishes cancels extends records assigns".split()
OBJECTS = ("leave requests", "hotel bookings", "laptop orders", "parking permits", "training budgets",
           "expense claims", "visitor badges", "shift rotas", "safety drills", "press releases")
PLACES = ["Harrowgate", "Fennel Street", "Quillfeather", "North Wing", "Dock 7", "Lantern Hall"]


def sentence(rng: random.Random) -> str:
    return (f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(OBJECTS)} at "
            f"{rng.choice(PLACES)} every {rng.randint(2, 40)} days, code {rng.randint(100, 999)}.")


def make_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    docs = [Document(f"doc{i}.txt", " ".join(sentence(rng) for _ in range(40)), f"doc {i}") for i in range(n // 3 + 1)]
    chunks = chunk_corpus(docs, ChunkingSpec("tokens", 100, 0, metadata_prefix=False))
    assert len(chunks) >= n, "not enough synthetic text"
    return [c.text for c in chunks[:n]]


def latencies(searcher: object, queries: list[str], k: int = 5) -> tuple[float, float]:
    times = []
    for q in queries:
        t0 = time.perf_counter()
        searcher.search([q], k)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - t0)
    p50, p95 = np.percentile(times, [50, 95])
    return float(p50) * 1000, float(p95) * 1000


def run(n: int, cap_s: float, embedder: Embedder) -> list[dict[str, object]]:
    texts = make_texts(n)
    queries = [sentence(random.Random(1000 + i)) for i in range(200)]
    t0 = time.perf_counter()
    bm25 = BM25Index.build(texts)
    bm25_s = time.perf_counter() - t0

    embedder.encode(texts[:32])  # load and warm the model outside the timing
    vectors, t0, done, capped = [], time.perf_counter(), 0, False
    while done < n:
        vectors.append(embedder.encode(texts[done:done + 256]))
        done += len(vectors[-1])
        if time.perf_counter() - t0 > cap_s and done < n:
            capped = True
            break
    measured_s = time.perf_counter() - t0
    rate = done / measured_s
    dense_s = measured_s if not capped else n / rate
    if capped:
        rest = np.random.default_rng(0).standard_normal((n - done, vectors[0].shape[1])).astype(np.float32)
        vectors.append(rest / np.linalg.norm(rest, axis=1, keepdims=True))
    dense = DenseIndex(np.concatenate(vectors), embedder)
    hybrid = HybridIndex(bm25, dense)
    note = f"dense build extrapolated from {done} embedded in {measured_s:.0f}s" if capped else ""
    rows = []
    for name, searcher, build in (("bm25", bm25, bm25_s), ("dense", dense, dense_s), ("hybrid", hybrid, bm25_s + dense_s)):
        p50, p95 = latencies(searcher, queries if name == "bm25" else queries[:100])
        rows.append({"retriever": name, "chunks": n, "build_s": build, "p50_ms": p50, "p95_ms": p95,
                     "passages_per_s": rate if name != "bm25" else None, "note": note if name != "bm25" else ""})
        print(rows[-1], flush=True)
    return rows


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| retriever | chunks | index build s | query p50 ms | query p95 ms | passages embedded/s | note |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        rate = "—" if r["passages_per_s"] is None else f"{r['passages_per_s']:.0f}"
        lines.append(f"| {r['retriever']} | {r['chunks']:,} | {r['build_s']:.2f} | {r['p50_ms']:.2f} | "
                     f"{r['p95_ms']:.2f} | {rate} | {r['note']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--dense-cap-s", type=float, default=240.0, help="most seconds spent embedding one size")
    ap.add_argument("--append", action="store_true", help="append the table to BENCHMARKS.md")
    args = ap.parse_args()
    embedder = Embedder(batch_size=64)
    rows = [r for n in args.sizes for r in run(n, args.dense_cap_s, embedder)]
    out = table(rows)
    print(out)
    if args.append:
        import torch

        section = (f"\n## Retrieval: index build, query latency, embedding throughput\n\n"
                   f"`.venv/bin/python bench/retrieval.py {' '.join(sys.argv[1:])}` on {cpu_description()}, "
                   f"torch threads {torch.get_num_threads()}; chunks of ~100 words; one query at a time, "
                   f"k = 5 (hybrid fuses the top 50 of each). Dense query latency includes embedding the query.\n\n"
                   f"{out}\n")
        with open(ROOT / "BENCHMARKS.md", "a", encoding="utf-8") as f:
            f.write(section)


if __name__ == "__main__":
    main()
