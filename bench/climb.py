"""Benchmark: wall time of a full example climb, and of the cached re-run.

    .venv/bin/python bench/climb.py [examples/balance-shift/task.yaml ...] [--append]

Each climb runs in a fresh runs folder (a cold call cache; the converted model in
~/.cache/ladder stays warm, as it would for any user after their first climb). It prints one
table row per task and, with --append, adds the table to BENCHMARKS.md with the CPU it ran on.
Figures come from the climb's own summary.json: train tokens/s from the fine-tuning rungs'
build records, eval examples/s from the rungs' evaluation wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_description() -> str:
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    return f"{model}, {os.cpu_count()} cores, flags: {' '.join(wanted) or 'none of avx2/avx512/amx'}"


def climb(task: Path, runs: Path) -> tuple[float, Path]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ladder.cli", "climb", str(task), "--runs-dir", str(runs)],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"climb of {task} failed:\n{proc.stderr[-4000:]}")
    run_dir = Path(proc.stdout.split("run: ")[1].split()[0])
    return seconds, run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tasks", nargs="*", type=Path, default=[ROOT / "examples/balance-shift/task.yaml"])
    parser.add_argument("--append", action="store_true", help="append the table to BENCHMARKS.md")
    args = parser.parse_args()

    rows = []
    for task in args.tasks:
        with tempfile.TemporaryDirectory() as tmp:
            first, run_dir = climb(task, Path(tmp) / "runs")
            again, _ = climb(task, Path(tmp) / "runs")
            summary = json.loads((run_dir / "summary.json").read_text())
        rungs = [r for r in summary["rungs"] if r["status"] == "ok"]
        trained = [r for r in rungs if r["kind"] == "finetune" and r["build_seconds"] > 0]
        train_tps = (sum(r["build_tokens"] for r in trained) / sum(r["build_seconds"] for r in trained)) if trained else 0
        eval_eps = sum(r["n"] for r in rungs) / sum(r["eval_seconds"] for r in rungs)
        rows.append((summary["run"]["task_name"], len(rungs), first, again, train_tps, eval_eps))

    header = "| task | rungs | full climb (s) | cached re-run (s) | re-run / full | train tokens/s | eval examples/s |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    for name, n, first, again, tps, eps in rows:
        lines.append(f"| {name} | {n} | {first:.0f} | {again:.1f} | {again / first:.1%} | {tps:.0f} | {eps:.2f} |")
    table = "\n".join(lines)
    print(table)
    if args.append:
        cmd = "python bench/climb.py " + " ".join(str(t.relative_to(ROOT) if t.is_absolute() else t) for t in args.tasks)
        with open(ROOT / "BENCHMARKS.md", "a") as f:
            f.write(f"\n### Climb wall time — {time.strftime('%Y-%m-%d')}\n\n")
            f.write(f"Command: `{cmd} --append`  \nMachine: {cpu_description()}\n\n{table}\n")


if __name__ == "__main__":
    main()
