"""Remote evaluation throughput: eval rows per second against `ladder serve`, at several
concurrencies, through the path a climb takes (evaluate -> call cache committing each answer ->
OpenAICompatBackend with its retries and adaptive concurrency -> HTTP -> the server's batcher ->
the local model).

    OMP_NUM_THREADS=2 .venv/bin/python bench/remote_eval.py [--n 64] [--tokens 16] [--concurrency 1,4,16]

Each concurrency gets a fresh store (no cache hits) and the same rows: the balance-shift eval
examples, repeated with a copy number so that every row is a distinct request. Prints the CPU,
the load average, and per concurrency the rows/s, the seconds, the errors and whether the answers
equal those of the first concurrency (the server's batches change with the concurrency).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

from ladder.backends.endpoints import Endpoint
from ladder.backends.openai_compat import OpenAICompatBackend
from ladder.eval.runner import evaluate
from ladder.hardware import cpu_info
from ladder.rungs.prompt import ChatPrompt
from ladder.serve.launch import running_server
from ladder.task import load_task
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import Store
from ladder.types import Candidate, GenerationParams

TASK = Path(__file__).resolve().parents[1] / "examples" / "balance-shift" / "task.yaml"
MODEL = "smollm2-135m-instruct"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=64, help="eval rows per concurrency")
    ap.add_argument("--tokens", type=int, default=16, help="max new tokens per answer")
    ap.add_argument("--concurrency", default="1,4,16", help="comma-separated concurrencies")
    ap.add_argument("--batch-size", type=int, default=16, help="`ladder serve --batch-size`")
    args = ap.parse_args()

    task = load_task(TASK)
    rows = [dataclasses.replace(ex, id=f"{ex.id}-{k}", input=f"{ex.input} (copy {k})")
            for k in range(args.n // len(task.eval) + 1) for ex in task.eval][: args.n]
    candidate = Candidate(rung="zero_shot", kind="prompt", prompt=ChatPrompt(system=task.spec.prompts.system))
    params = GenerationParams(max_new_tokens=args.tokens)
    print(f"CPU: {cpu_info().model} ({os.cpu_count()} cores), OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"load average {os.getloadavg()[0]:.1f}; {len(rows)} rows, {args.tokens} new tokens, "
          f"serve --batch-size {args.batch_size}", flush=True)
    with tempfile.TemporaryDirectory() as tmp, running_server("--batch-size", str(args.batch_size),
                                                              "--data-dir", str(Path(tmp) / "serve")) as url:
        endpoint = Endpoint(name="bench", base_url=url, key_required=False, api_key_env="LADDER_BENCH_NO_KEY")
        OpenAICompatBackend(endpoint, MODEL).generate([candidate.prompt.render(rows[0])], params)  # load the model
        first: list[str] | None = None
        for c in [int(x) for x in args.concurrency.split(",")]:
            with Store(Path(tmp) / f"runs-{c}") as store:
                backend = CachedBackend(OpenAICompatBackend(endpoint, MODEL, concurrency=c), store)
                t0 = time.perf_counter()
                result = evaluate(candidate, rows, backend, task.checks, params, chunk_size=len(rows))
                seconds = time.perf_counter() - t0
            texts = [r.generation.text for r in result.results]
            first = first or texts
            errors = sum(r.generation.error is not None for r in result.results)
            print(f"concurrency {c:>2}: {len(rows) / seconds:6.2f} rows/s ({seconds:.1f} s, {errors} errors, "
                  f"answers equal to the first concurrency's: {texts == first})", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
