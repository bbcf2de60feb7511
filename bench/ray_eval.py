"""Benchmark: the Ray executor's speed-up over the local one, on this machine.

    .venv/bin/python bench/ray_eval.py [--n 24] [--max-new-tokens 32] [--workers 2] [--append]

Workload: the first `--n` balance-shift eval inputs under the `instructed` prompt, greedy, the
default local model (float32). `local` answers them in this process with every core (torch's
threads); `ray` answers them on `--workers` Ray actors of one CPU each, started on a local Ray
instance, pieces of `--rows-per-task` rows. Both models are loaded before the clock starts; Ray's
start and the actors' loading are reported apart, since a climb pays them once. The last column
is the share of answers identical to the local executor's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from climb import cpu_description  # noqa: E402
from generate import prompts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rows-per-task", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=4, help="rows per batch inside each model")
    parser.add_argument("--append", action="store_true", help="append the table to BENCHMARKS.md")
    args = parser.parse_args()

    import ray

    from ladder.backends.local import LocalBackend
    from ladder.eval.ray_executor import RayExecutor
    from ladder.task.spec import ModelSpec
    from ladder.types import GenerationParams

    chats = prompts(args.n)
    params, warm = GenerationParams(max_new_tokens=args.max_new_tokens), GenerationParams(max_new_tokens=2)

    local = LocalBackend(batch_size=args.batch_size)
    local.generate(chats[:1], warm)  # weights loaded outside the timing
    t0 = time.perf_counter()
    reference = [g.text for g in local.generate(chats, params)]
    local_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    with RayExecutor(workers=args.workers, rows_per_task=args.rows_per_task, local_cpus=args.workers) as executor:
        backend = executor.backend(local, ModelSpec(), params, args.batch_size)
        start_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ray.get([a.generate.remote(chats[:1], warm, None) for a in backend.actors])  # each actor loads once
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        answers = backend.generate(chats, params)
        ray_s = time.perf_counter() - t0
    errors = sum(g.error is not None for g in answers)
    same = sum(g.text == r for g, r in zip(answers, reference)) / len(reference)

    table = "\n".join([
        "| executor | examples/min | x local | identical to local | failed rows |", "|---|---|---|---|---|",
        f"| local, 1 process, torch threads {__import__('torch').get_num_threads()} | "
        f"{len(chats) / local_s * 60:.1f} | 1.00 | 100% | 0 |",
        f"| ray, {args.workers} actors x 1 CPU, {args.rows_per_task} rows per task | "
        f"{len(chats) / ray_s * 60:.1f} | {local_s / ray_s:.2f} | {same:.0%} | {errors} |",
    ])
    notes = f"Ray start {start_s:.1f} s and actors' model loading {load_s:.1f} s, paid once per climb, not in the table."
    print(table)
    print(notes)
    if args.append:
        with open(ROOT / "BENCHMARKS.md", "a") as f:
            f.write(f"\n### Ray executor vs local — {time.strftime('%Y-%m-%d')}\n\n")
            f.write(f"Command: `python bench/ray_eval.py --n {args.n} --max-new-tokens {args.max_new_tokens} "
                    f"--workers {args.workers} --rows-per-task {args.rows_per_task} --batch-size {args.batch_size} "
                    f"--append`  \nMachine: {cpu_description()}  \nWorkload: {args.n} balance-shift eval inputs "
                    f"under the instructed prompt, greedy, up to {args.max_new_tokens} new tokens, float32.  \n"
                    f"{notes}\n\n{table}\n")


if __name__ == "__main__":
    main()
