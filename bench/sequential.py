"""Sequential evaluation against exhaustive evaluation: the rows each rung was scored on, the
evaluation time the early stops saved, and whether the recommendation is the same.

    PYTHONPATH=src .venv/bin/python bench/sequential.py examples/ticket-routing/task.yaml --runs DIR [--all]

Climbs the task twice into the --runs store: as `ladder climb` does by default (each rung in
looks of 25%, 50% and 100% of the eval rows, stopped once it can neither meet the target nor beat
the best rung so far: eval/sequential.py), then with --exhaustive. The second climb answers
every row the first one scored from the call cache, so its evaluation seconds are those of the
rows the first one skipped: the time sequential evaluation saved. A store that already holds the
default climb (e.g. the one bench/climb.py --runs kept) answers the first climb from the cache.

Prints per rung the rows scored each way, why evaluation stopped, the target metric's accuracy
on the rows scored, and the seconds the skipped rows took; then both recommendations.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", type=Path)
    parser.add_argument("--runs", type=Path, required=True, help="the runs store to climb into")
    parser.add_argument("--all", action="store_true", help="climb every rung (ladder climb --all)")
    args = parser.parse_args()

    from ladder.climb import climb, model_backend, select_rungs
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
