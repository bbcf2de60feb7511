"""Benchmark an example climb: its wall time cold and cached, and the figures its README shows.

    PYTHONPATH=src .venv/bin/python bench/climb.py [TASK.yaml ...] [--all] [--rungs A,B] [--readme [--block NAME]]
        [--append] [--runs DIR]

Each task is climbed in a fresh runs folder (a cold call cache; the converted model in
~/.cache/ladder stays warm, as it would for any user after their first climb), then climbed
again there to time the cached re-run. It prints one table row per task (rungs, wall times,
train tokens/s and eval examples/s from the climb's own summary.json) and, per task, the block
its README shows: the command, the date, the CPU, the wall time, the report's rung table, its
note and its recommendation, so that no figure in a README is typed by hand.

--all climbs every rung (`ladder climb --all`), --rungs only those named (`ladder climb --rungs`).
--readme writes each block between the task's README markers `<!-- figures:begin -->` and
`<!-- figures:end -->`, or `<!-- figures:NAME:begin -->` ... with --block NAME for a README
showing more than one climb (an error when it has none: the figures go where the prose that
reads them expects them). --append adds the table to
BENCHMARKS.md with the CPU. --runs keeps the runs folders (DIR/<task folder>, which must not
exist yet), e.g. to read the reports afterwards or to climb more seeds into the same store.
Wall times depend on the machine and on what else runs on it: the CPU is named, and the
share of the CPU that other processes used during the climb (the machine's busy time, from
/proc/stat, less the climb's own) is given; a block says so when it was over 10%.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def markers(block: str | None = None) -> tuple[str, str]:
    """The README markers around a figures block (named, where a README shows several)."""
    name = f":{block}" if block else ""
    return f"<!-- figures{name}:begin -->", f"<!-- figures{name}:end -->"


BEGIN, END = markers()


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


@dataclass
class Climbed:
    seconds: float
    run_dir: Path
    others_share: float  # of the machine's CPU time during the climb, the share other processes used


def busy_cpu_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat); 0 where it cannot be read."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def climb(task: Path, runs: Path, flags: list[str]) -> Climbed:
    busy_before, mine_before = busy_cpu_seconds(), children_cpu_seconds()
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ladder.cli", "climb", str(task), "--runs-dir", str(runs), *flags],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):  # 1: ran, target not met
        sys.exit(f"climb of {task} failed:\n{proc.stderr[-4000:]}")
    run_dir = Path(proc.stdout.split("run: ")[1].split()[0])
    # What the machine did beside the climb: its busy CPU time less the climb's own (a load
    # average would count the climb's own threads as load)
    others = (busy_cpu_seconds() - busy_before) - (children_cpu_seconds() - mine_before)
    return Climbed(seconds, run_dir, max(0.0, others) / (seconds * (os.cpu_count() or 1)))


def replace_block(readme: str, block: str, name: str | None = None) -> str:
    """`readme` with the text between the (`name`d) markers replaced by `block`; ValueError
    without them."""
    begin, end_marker = markers(name)
    start, end = readme.find(begin), readme.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"no {begin} ... {end_marker} markers: add them where the figures belong")
    return readme[: start + len(begin)] + "\n" + block.rstrip() + "\n" + readme[end:]


BUSY_SHARE = 0.1  # other processes' share of the CPU above which a wall time is called inflated


def figures_block(summary: dict, command: str, seconds: float, others_share: float) -> str:
    """The README block for one climb's summary.json."""
    from ladder.report import fmt
    from ladder.report.markdown import _table
    from ladder.report.tiers import human_cost_line, judge_card_notes, judge_card_table

    busy = (f" Other processes used {100 * others_share:.0f}% of the CPU meanwhile: wall times are inflated,"
            " quality figures are not." if others_share > BUSY_SHARE else "")
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {cpu_description()}; the whole climb took {seconds:.0f} s "
        f"with a cold call cache.{busy} Command:", "",
        f"    {command}", "",
        *_table(*fmt.rung_table(summary)), "",
        fmt.rung_note(summary), "",
        *[f"- {line}" for line in fmt.advice_lines(summary)],
    ]
    headers, rows = judge_card_table(summary)
    if rows:  # a task with judges: their cards, and what evaluating cost per tier
        lines += ["", "Judge cards:", "", *_table(headers, rows), "",
                  *[f"- {note}" for note in judge_card_notes(summary)],
                  *[f"- {line}" for line in fmt.judge_lines(summary) if line.startswith("Evaluation cost")]]
        human = human_cost_line(summary)
        lines += [f"- {human}"] if human else []
    return "\n".join(lines)


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_absolute() and path.is_relative_to(ROOT) else path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tasks", nargs="*", type=Path, default=[ROOT / "examples/balance-shift/task.yaml"])
    parser.add_argument("--all", action="store_true", help="climb every rung (ladder climb --all)")
    parser.add_argument("--rungs", default=None, help="climb only these rungs, comma-separated (ladder climb --rungs)")
    parser.add_argument("--readme", action="store_true", help="write each task's figures block into its README")
    parser.add_argument("--block", default=None, help="with --readme: the named markers to write between")
    parser.add_argument("--append", action="store_true", help="append the table to BENCHMARKS.md")
    parser.add_argument("--runs", type=Path, default=None, help="keep the runs folders under this folder")
    args = parser.parse_args()

    flags = (["--all"] if args.all else []) + (["--rungs", args.rungs] if args.rungs else [])
    rows = []
    for task in (t.resolve() for t in args.tasks):
        with tempfile.TemporaryDirectory() as tmp:
            runs = (args.runs.resolve() if args.runs else Path(tmp)) / (task.parent.name + (f"-{args.block}" if args.block else ""))
            if runs.exists():
                sys.exit(f"{runs} exists: a cold climb needs a fresh runs folder")
            first = climb(task, runs, flags)
            again = climb(task, runs, flags)
            summary = json.loads((first.run_dir / "summary.json").read_text())
        command = " ".join([".venv/bin/ladder climb", shown(task), *flags])
        block = figures_block(summary, command, first.seconds, first.others_share)
        print(block + "\n")
        if args.readme:
            readme = task.parent / "README.md"
            readme.write_text(replace_block(readme.read_text(), block, args.block))
            print(f"wrote {readme}\n", file=sys.stderr)
        rungs = [r for r in summary["rungs"] if r["status"] == "ok"]
        trained = [r for r in rungs if r["kind"] == "finetune" and r["build_seconds"] > 0]
        train_tps = (sum(r["build_tokens"] for r in trained) / sum(r["build_seconds"] for r in trained)) if trained else 0
        eval_eps = sum(r["n"] for r in rungs) / sum(r["eval_seconds"] for r in rungs)
        rows.append((summary["run"]["task_name"], len(rungs), first.seconds, again.seconds, train_tps, eval_eps,
                     first.others_share))

    header = ("| task | rungs | full climb (s) | cached re-run (s) | re-run / full | train tokens/s | eval examples/s"
              " | CPU used by others |")
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for name, n, first_s, again_s, tps, eps, others in rows:
        lines.append(f"| {name} | {n} | {first_s:.0f} | {again_s:.1f} | {again_s / first_s:.1%} | {tps:.0f} | {eps:.2f}"
                     f" | {100 * others:.0f}% |")
    table = "\n".join(lines)
    print(table)
    if args.append:
        cmd = " ".join(["python bench/climb.py", *(shown(t) for t in args.tasks), *flags])
        with open(ROOT / "BENCHMARKS.md", "a") as f:
            f.write(f"\n### Climb wall time — {time.strftime('%Y-%m-%d')}\n\n")
            f.write(f"Command: `{cmd} --append`  \nMachine: {cpu_description()}\n\n{table}\n")


if __name__ == "__main__":
    main()
