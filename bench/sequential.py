"""Sequential evaluation against exhaustive evaluation: the rows each rung was scored on, the
evaluation time the early stops saved, and whether the recommendation is the same.

    PYTHONPATH=src .venv/bin/python bench/sequential.py examples/ticket-routing/task.yaml --runs DIR [--all]
        [--record FILE]

Climbs the task twice into the --runs store: as `ladder climb` does by default (each rung in
looks of 25%, 50% and 100% of the eval rows, paused once it cannot meet the target and finished
only when no rung meets it and it might be the best: eval/sequential.py, eval/paused.py), then
with --exhaustive. The second climb answers
every row the first one scored from the call cache, so its evaluation seconds are those of the
rows the first one skipped: the time sequential evaluation saved. A store that already holds the
default climb (e.g. the one bench/climb.py --runs kept) answers the first climb from the cache.

Prints per rung the rows scored each way, why evaluation stopped, the target metric's accuracy
on the rows scored, and the seconds the skipped rows took; then both recommendations.
--record writes every answer of the exhaustive climb (rung -> example id -> answer) to FILE as
JSON: tests/eval/test_sequential_examples.py replays them through both kinds of climb.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", type=Path)
    parser.add_argument("--runs", type=Path, required=True, help="the runs store to climb into")
    parser.add_argument("--all", action="store_true", help="climb every rung (ladder climb --all)")
    parser.add_argument("--record", type=Path, default=None, help="write the exhaustive climb's answers here")
    args = parser.parse_args()

    from ladder.asking import model_backend
    from ladder.climb import climb, select_rungs
    from ladder.report import summarize
    from ladder.task import load_task
    from ladder.tracking.store import Store

    task = load_task(args.task)
    store = Store(args.runs)
    backend = model_backend(task)
    summaries = {}
    for label, exhaustive in (("sequential", False), ("exhaustive", True)):
        result = climb(task, store, backend, rungs=select_rungs(task), all_rungs=args.all, exhaustive=exhaustive)
        summaries[label] = summarize(store, result.run_id)
        if label == "exhaustive" and args.record is not None:
            answers = {row.rung: {g.example_id: g.output for g in store.generations(row.id)}
                       for row in store.rung_results(result.run_id) if row.status == "ok"}
            args.record.write_text(json.dumps({"task": task.name, "command": " ".join(sys.argv), "answers": answers},
                                              indent=1, sort_keys=True) + "\n")
        print(f"{label}: run {result.run_id}, {result.cache_hits} cached calls, {result.cache_misses} new")
    rows = {label: {r["rung"]: r for r in s["rungs"] if r["status"] == "ok"} for label, s in summaries.items()}
    metric = summaries["sequential"]["run"]["target_metric"]
    print(f"\n{task.name}: target {metric}\n")
    print("| rung | rows sequential | rows exhaustive | why it stopped | target metric sequential | "
          "exhaustive | eval s of the skipped rows |")
    print("|---|---|---|---|---|---|---|")
    saved = 0.0
    for name, ex in rows["exhaustive"].items():
        seq = rows["sequential"].get(name)
        if seq is None:
            print(f"| {name} | not climbed | {ex['n']} | | | {100 * (ex['quality'] or 0):.1f}% | |")
            continue
        skipped_s = ex["eval_seconds"] if seq["n"] < ex["n"] else 0.0
        saved += skipped_s
        print(f"| {name} | {seq['n']} | {ex['n']} | {seq.get('eval_stop') or 'every row'} | "
              f"{100 * (seq['quality'] or 0):.1f}% | {100 * (ex['quality'] or 0):.1f}% | {skipped_s:.0f} |")
    recs = {label: s["recommendation"]["rung"] for label, s in summaries.items()}
    print(f"\nrecommendation: sequential {recs['sequential']}, exhaustive {recs['exhaustive']}"
          f" ({'the same' if recs['sequential'] == recs['exhaustive'] else 'DIFFERENT'}); "
          f"evaluation seconds saved: {saved:.0f}")


if __name__ == "__main__":
    main()
