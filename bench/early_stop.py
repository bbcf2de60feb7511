"""Early stopping against the fixed-epoch run: the same fine-tune rung trained both ways, the
training time each took, and eval quality compared on the same rows with a paired test.

    PYTHONPATH=src .venv/bin/python bench/early_stop.py examples/balance-shift/task.yaml --runs DIR [--patience 2]
        [--measure target|loss] [--holdout F] [--every N] [--rungs NAME ...]

For each fine-tune rung of the task (or --rungs), climbs it as task.yaml configures it but with
`early_stop_patience: 0` (fixed epochs), and again with `early_stop_patience`,
`early_stop_measure` (and --holdout / --every) added to its options,
each in its own run of the --runs store and scored on every eval row (--exhaustive), so the two
answer the same rows. A store that already holds the fixed-epoch adapter (e.g. the one
bench/climb.py --runs kept) answers it from the cache and the build seconds are the ones
recorded when it was trained.

Prints per rung: build seconds fixed vs early-stopped, the step it stopped at and the planned
steps, the target metric's accuracy each way with Wilson intervals, and the paired difference
(Newcombe interval, exact McNemar p: ladder.stats.compare_paired).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def with_early_stop(task, rung: str, options: dict):
    """The task with `options` added to `rung`'s."""
    rungs = dict(task.spec.rungs or {})
    rungs[rung] = {**(rungs.get(rung) or {}), **options}
    return dataclasses.replace(task, spec=task.spec.model_copy(update={"rungs": rungs}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", type=Path)
    parser.add_argument("--runs", type=Path, required=True, help="the runs store to climb into")
    parser.add_argument("--rungs", nargs="*", default=None, help="fine-tune rungs (default: every one the task lists)")
    parser.add_argument("--patience", type=int, default=2, help="early_stop_patience")
    parser.add_argument("--measure", choices=["target", "loss"], default="target", help="early_stop_measure")
    parser.add_argument("--holdout", type=float, default=None, help="holdout_fraction (default: the trainer's)")
    parser.add_argument("--every", type=int, default=None, help="early_stop_every (default: twice per epoch)")
    args = parser.parse_args()

    from ladder.asking import model_backend
    from ladder.climb import climb, select_rungs
    from ladder.scoring import pass_table
    from ladder.stats import compare_paired, wilson_interval
    from ladder.task import load_task
    from ladder.tracking.store import Store

    task = load_task(args.task)
    store = Store(args.runs)
    backend = model_backend(task)
    names = args.rungs or [r.name for r, _ in select_rungs(task) if r.kind == "finetune"]
    options = {"early_stop_patience": args.patience, "early_stop_measure": args.measure,
               **({"holdout_fraction": args.holdout} if args.holdout is not None else {}),
               **({"early_stop_every": args.every} if args.every is not None else {})}
    metric = task.spec.target.metric
    print(f"{task.name}: fixed epochs vs early stopping ({json.dumps(options)}), target metric {metric}\n")
    print("| rung | build s fixed | build s early stop | early stop | fixed (95% CI) | early stop (95% CI) "
          "| early stop - fixed (95% CI) | McNemar p |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        rows = {}
        fixed_epochs = with_early_stop(task, name, {"early_stop_patience": 0})
        for label, variant in (("fixed", fixed_epochs), ("early", with_early_stop(task, name, options))):
            result = climb(variant, store, backend, rungs=[r for r in select_rungs(variant) if r[0].name == name],
                           all_rungs=True, exhaustive=True)
            (row,) = [r for r in store.rung_results(result.run_id) if r.status == "ok"]
            rows[label] = row
            print(f"  {label}: run {result.run_id}", file=sys.stderr)
        outcome = {k: pass_table(store.generations(r.id))[metric] for k, r in rows.items()}
        shared = sorted(set(outcome["fixed"]) & set(outcome["early"]))
        fixed = [outcome["fixed"][i] for i in shared]
        early = [outcome["early"][i] for i in shared]
        c = compare_paired("early stop", early, "fixed", fixed)
        trained = {k: json.loads((Path(r.candidate["adapter"]) / "training.json").read_text()) for k, r in rows.items()}
        stop = trained["early"]["early_stop"] or {}
        where = (f"stopped at {stop['stopped_at']}, kept {stop['best_step']}" if stop.get("stopped_at") is not None
                 else f"ran every step, kept {stop.get('best_step', '-')}")
        cells = [name, f"{rows['fixed'].build_seconds:.0f}", f"{rows['early'].build_seconds:.0f}",
                 f"{where} (fixed: {trained['fixed']['steps']} steps)",
                 *(f"{100 * sum(v) / len(v):.1f}% [{100 * lo:.1f}-{100 * hi:.1f}]"
                   for v in (fixed, early) for lo, hi in [wilson_interval(sum(v), len(v))]),
                 f"{100 * c['difference']:+.1f} [{100 * c['ci'][0]:+.1f}, {100 * c['ci'][1]:+.1f}]",
                 f"{c['p_value']:.2g}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
