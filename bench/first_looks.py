"""Benchmark: a run of prompt rungs' first looks asked in one call against one call per rung.

    PYTHONPATH=src .venv/bin/python bench/first_looks.py [--rows 20] [--pairs 3] [--max-new-tokens 64]

Workload: the first `--rows` balance-shift eval inputs under the zero_shot, instructed and
few_shot prompts (as the climb renders them: the rungs' own candidates), greedy. One model is
loaded before any clock starts; then, `--pairs` times in turn, the three prompts' rows are answered
as three calls of the local backend (what each rung's first look asks alone) and as one call of
all of them (what first_looks.py asks). Prints the seconds of each pair, their medians and ratio,
and the share of answers identical between the two ways (backends/batching.py groups the rows by
prompt prefix; the answers should not change).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from climb import cpu_description  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20, help="eval rows per prompt (a first look)")
    parser.add_argument("--pairs", type=int, default=3, help="timings of each way, taken in turn")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args()

    from ladder.backends.local import LocalBackend
    from ladder.rungs import by_name
    from ladder.rungs.base import RungContext
    from ladder.task import load_task
    from ladder.types import GenerationParams

    task = load_task(ROOT / "examples/balance-shift/task.yaml")
    known = by_name()
    chats = []
    for name in ("zero_shot", "instructed", "few_shot"):
        rung = known[name]
        candidate = rung.prepare(RungContext(task, None, ROOT), rung.Options(**(task.spec.rungs.get(name) or {})))
        chats.append([candidate.prompt.render(ex) for ex in task.eval[: args.rows]])
    backend = LocalBackend()
    params = GenerationParams(max_new_tokens=args.max_new_tokens)
    backend.generate(chats[0][:1], GenerationParams(max_new_tokens=2))  # load the weights off the clock

    apart, together, same = [], [], []
    for _ in range(args.pairs):
        t0 = time.perf_counter()
        alone = [g.text for rows in chats for g in backend.generate(rows, params)]
        apart.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        joint = [g.text for g in backend.generate([c for rows in chats for c in rows], params)]
        together.append(time.perf_counter() - t0)
        same.append(sum(a == b for a, b in zip(alone, joint)) / len(alone))
    print(f"{cpu_description()}; {args.rows} rows x 3 prompts, up to {args.max_new_tokens} new tokens")
    print("| way | seconds per pair | median s |\n|---|---|---|")
    print(f"| one call per prompt (3 x {args.rows} rows) | {', '.join(f'{s:.1f}' for s in apart)} | "
          f"{statistics.median(apart):.1f} |")
    print(f"| one call ({3 * args.rows} rows) | {', '.join(f'{s:.1f}' for s in together)} | "
          f"{statistics.median(together):.1f} |")
    print(f"\none call / three: {statistics.median(together) / statistics.median(apart):.3f}; "
          f"answers identical: {min(same):.0%}")


if __name__ == "__main__":
    main()
