"""Regenerate an example README's measured figures from a fresh climb, so no figure in it is
typed by hand.

    PYTHONPATH=src .venv/bin/python bench/example_figures.py examples/ticket-routing [--write]

Climbs the example's task.yaml with `--all` in a fresh runs folder (a cold call cache), then
prints the block its README shows: the command, the date, the CPU, the climb's wall time, the
report's rung table and its recommendation. With --write the block replaces what lies between
the README's `<!-- figures:begin -->` and `<!-- figures:end -->` markers (an error when the
README has none: the figures must go where the prose that reads them expects them).
Wall times depend on the machine and on what else runs on it: the block names the CPU, and
says so when the load average was high while it ran.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from climb import cpu_description  # noqa: E402  (bench/climb.py: the same CPU line as BENCHMARKS.md)


def replace_block(readme: str, block: str) -> str:
    """`readme` with the text between the markers replaced by `block`; ValueError without markers."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no {BEGIN} ... {END} markers: add them where the figures belong")
    return readme[: start + len(BEGIN)] + "\n" + block.rstrip() + "\n" + readme[end:]


def figures_block(summary: dict, command: str, seconds: float, load: float) -> str:
    """The README block for one climb's summary.json."""
    from ladder.report import fmt
    from ladder.report.markdown import _table

    busy = (f" The machine was busy (load average {load:.1f} on {os.cpu_count()} cores): wall times are"
            " inflated, quality figures are not." if load > (os.cpu_count() or 1) * 0.75 else "")
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {cpu_description()}; the whole climb took {seconds:.0f} s "
        f"with a cold call cache.{busy} Command:", "",
        f"    {command}", "",
        *_table(*fmt.rung_table(summary)), "",
        fmt.rung_note(summary), "",
        *[f"- {line}" for line in fmt.advice_lines(summary)],
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("example", type=Path, help="an example folder (holding task.yaml and README.md)")
    parser.add_argument("--write", action="store_true", help="replace the README's figures block")
    parser.add_argument("--runs", type=Path, default=None,
                        help="climb into this runs folder and keep it (default: a temporary one); it must not"
                             " exist yet, so that the call cache is cold")
    args = parser.parse_args()
    folder = args.example.resolve()
    task = folder / "task.yaml"
    shown = f".venv/bin/ladder climb {task.relative_to(ROOT)} --all"
    if args.runs is not None and args.runs.exists():
        sys.exit(f"{args.runs} exists: the figures need a cold call cache, give a new folder")
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.runs.resolve() if args.runs is not None else Path(tmp) / "runs"
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "ladder.cli", "climb", str(task), "--all",
                               "--runs-dir", str(runs)], capture_output=True, text=True,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
        seconds = time.perf_counter() - t0
        load = max(load_before, os.getloadavg()[1])  # the 5-minute average covers the climb's end
        if proc.returncode not in (0, 1):  # 1: ran, target not met
            sys.exit(f"climb of {task} failed:\n{proc.stderr[-4000:]}")
        run_dir = Path(proc.stdout.split("run: ")[1].split()[0])
        summary = json.loads((run_dir / "summary.json").read_text())
    block = figures_block(summary, shown, seconds, load)
    print(block)
    if args.write:
        readme = folder / "README.md"
        readme.write_text(replace_block(readme.read_text(), block))
        print(f"\nwrote {readme}", file=sys.stderr)


if __name__ == "__main__":
    main()
