"""Throughput of `ladder serve` through the real `openai` SDK: requests one at a time vs several
in flight (the server gathers concurrent requests into one model batch).

    OMP_NUM_THREADS=2 .venv/bin/python bench/serve_throughput.py [--requests 16] [--tokens 32]

Prints requests/min for each concurrency and whether the answers are identical.
"""

from __future__ import annotations

import argparse
import os
import time

from ladder.backends.endpoints import Endpoint
from ladder.backends.openai_compat import OpenAICompatBackend
from ladder.serve.launch import running_server
from ladder.types import GenerationParams, Message


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=16)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--concurrency", default="1,4,8")
    args = ap.parse_args()
    chats = [(Message("user", f"Run a balance shift analysis for A = {10 + 7 * i} and B = {90 - 3 * i}."),)
             for i in range(args.requests)]
    params = GenerationParams(max_new_tokens=args.tokens)
    with running_server("--batch-size", "8") as url:
        endpoint = Endpoint(name="bench", base_url=url, key_required=False, api_key_env="LADDER_BENCH_NO_KEY")
        OpenAICompatBackend(endpoint, "smollm2-135m-instruct").generate(chats[:1], params)  # load the model
        texts = {}
        for c in [int(x) for x in args.concurrency.split(",")]:
            backend = OpenAICompatBackend(endpoint, "smollm2-135m-instruct", concurrency=c)
            t0 = time.perf_counter()
            gens = backend.generate(chats, params)
            dt = time.perf_counter() - t0
            assert not any(g.error for g in gens), [g.error for g in gens if g.error]
            texts[c] = [g.text for g in gens]
            print(f"concurrency {c}: {len(chats) / dt * 60:.1f} requests/min ({dt:.1f} s, "
                  f"{sum(g.completion_tokens for g in gens)} completion tokens)", flush=True)
        first = next(iter(texts.values()))
        print("answers identical across concurrency:", all(t == first for t in texts.values()))
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
