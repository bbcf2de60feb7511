"""How often each shipped example writes its knowledge checks' expected values in its inputs.

    PYTHONPATH=src .venv/bin/python bench/in_input.py [TASK.yaml ...]

For every knowledge check that compares with a value of the reference, the eval rows whose value
is written in the input (diagnosis/in_input.py: a whole word, ignoring case), and which checks
that makes extractive (at least EXTRACTION_SHARE of at least MIN_ROWS rows). It is what set the
share: a routing label appears in some tickets' text, an extraction task's values in all.
Prints a markdown table; no model is loaded.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(paths: list[str]) -> None:
    from ladder.diagnosis.in_input import EXTRACTION_SHARE, MIN_ROWS, compared_checks, extractive, written_shares
    from ladder.task import load_task

    tasks = [Path(p) for p in paths] or sorted((ROOT / "examples").glob("*/task.yaml"))
    print(f"| task | eval rows whose expected value is written in the input, per check | extractive "
          f"(>= {EXTRACTION_SHARE:.0%} of >= {MIN_ROWS} rows) |")
    print("|---|---|---|")
    for path in tasks:
        task = load_task(path)
        checks = compared_checks(task.spec.model_dump(mode="json"))
        shares = written_shares([(e.input, e.expected) for e in task.eval], checks)
        listed = ", ".join(f"{name} {hits}/{n}" for name, (hits, n) in shares.items())
        print(f"| {task.name} | {listed or 'no knowledge check compares with a value of the reference'} | "
              f"{', '.join(sorted(extractive(shares))) or 'none'} |")


if __name__ == "__main__":
    main(sys.argv[1:])
