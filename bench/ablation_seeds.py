"""Kung & Peng's instruction-tuning ablations beside lora_sft, over several training seeds.

    PYTHONPATH=src .venv/bin/python bench/ablation_seeds.py [task.yaml] --seeds 3 --runs runs-ablation [--readme]

Climbs random_baseline, lora_sft, lora_sft_short_instructions, lora_sft_wrong_demos (both
rows) and lora_sft_label_noise, with their options from the task.yaml (default: ticket-routing),
once per seed 0..N-1 (the task's `seed:`, which seeds training and every draw the rungs make:
demonstrations, wrong answers, the baseline's labels), every rung climbed and scored on every
eval row (--all --exhaustive: paired comparisons need the same rows). Each seed is
one run in the --runs store, so a re-run finds the adapters and answers and is quick.

Prints, per row, the overall accuracy on each seed, the mean and spread over seeds, and the
paired difference from lora_sft on the same seed and eval rows (Newcombe 95% interval, exact
McNemar p: ladder.stats.compare_paired), then the same pooled over the seeds' rows (pooled rows
repeat each eval example once per seed, so that interval is narrower than independent rows
would give; read it beside the per-seed ones). A row whose verdict against lora_sft is not the
same on every seed is marked "depends on the seed".

--limit and --train-limit cut the eval and training splits, for a quick check of the script.
--readme writes the table into the task's README between `<!-- figures:seeds:begin -->` and
`<!-- figures:seeds:end -->` (bench/climb.py's markers), so that no figure there is typed by hand.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNGS = ["random_baseline", "lora_sft", "lora_sft_short_instructions", "lora_sft_wrong_demos", "lora_sft_label_noise"]
REFERENCE = "lora_sft"


def seeded(task, seed: int, limit: int | None, train_limit: int | None):
    """The task with `seed:` set and its splits cut to the limits."""
    return dataclasses.replace(task, spec=task.spec.model_copy(update={"seed": seed}),
                               eval=task.eval[:limit], train=task.train[:train_limit])


def outcomes_by_rung(store, run_id: str) -> dict[str, dict[str, bool]]:
    """rung row -> eval example id -> passed overall, for the rows that ran."""
    from ladder.scoring import pass_table

    return {row.rung: pass_table(store.generations(row.id))["overall"]
            for row in store.rung_results(run_id) if row.status == "ok"}


def paired(rung: dict[str, bool], reference: dict[str, bool], name: str):
    from ladder.stats import compare_paired

    shared = sorted(set(rung) & set(reference))
    return compare_paired(name, [rung[i] for i in shared], REFERENCE, [reference[i] for i in shared])


def interval(c: dict) -> str:
    low, high = c["ci"]
    return f"{100 * c['difference']:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}] p={c['p_value']:.2g}"


def table(per_seed: list[dict[str, dict[str, bool]]]) -> str:
    names = list(dict.fromkeys(name for seed in per_seed for name in seed))
    head = ["row", *(f"seed {s}" for s in range(len(per_seed))), "mean", "spread",
            f"vs {REFERENCE} per seed (points, 95% CI)", f"vs {REFERENCE} pooled", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in names:
        accs = [100 * sum(s[name].values()) / len(s[name]) if s.get(name) else None for s in per_seed]
        ran = [a for a in accs if a is not None]
        cells = [name, *("-" if a is None else f"{a:.1f}%" for a in accs),
                 f"{statistics.mean(ran):.1f}%" if ran else "-",
                 f"{max(ran) - min(ran):.1f} ({min(ran):.1f}-{max(ran):.1f})" if ran else "-"]
        if name == REFERENCE:
            lines.append("| " + " | ".join(cells + ["", "", "reference"]) + " |")
            continue
        seeds = [(i, s) for i, s in enumerate(per_seed) if s.get(name) and s.get(REFERENCE)]
        comparisons = [paired(s[name], s[REFERENCE], name) for _, s in seeds]
        pooled_rung = {f"{i}:{k}": v for i, s in seeds for k, v in s[name].items()}
        pooled_ref = {f"{i}:{k}": v for i, s in seeds for k, v in s[REFERENCE].items()}
        pooled = paired(pooled_rung, pooled_ref, name) if seeds else None
        kinds = {("worse" if c["difference"] < 0 else "better") if c["distinguishable"] else "same" for c in comparisons}
        verdict = ("-" if not kinds else "depends on the seed" if len(kinds) > 1
                   else {"same": "not distinguishable on any seed", "worse": f"below {REFERENCE} on every seed",
                         "better": f"above {REFERENCE} on every seed"}[kinds.pop()])
        cells += ["; ".join(f"s{i}: {interval(c)}" for (i, _), c in zip(seeds, comparisons)) or "-",
                  interval(pooled) if pooled else "-", verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", nargs="?", type=Path, default=ROOT / "examples/ticket-routing/task.yaml")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds 0..N-1")
    parser.add_argument("--runs", type=Path, default=Path("runs-ablation"), help="the runs store to climb into")
    parser.add_argument("--limit", type=int, default=None, help="only the first N eval examples")
    parser.add_argument("--train-limit", type=int, default=None, help="only the first N training examples")
    parser.add_argument("--readme", action="store_true",
                        help="write the table into the task's README.md between its figures:seeds markers")
    args = parser.parse_args()

    from ladder.asking import model_backend
    from ladder.climb import climb, select_rungs
    from ladder.events import RungFinished, RungSkipped
    from ladder.task import load_task
    from ladder.tracking.store import Store

    base = load_task(args.task)
    store = Store(args.runs)
    backend = model_backend(base)

    def report(event) -> None:
        if isinstance(event, RungFinished):
            o = event.outcome
            print(f"  {o.rung}: {o.status} in {o.seconds:.0f} s" + (f" ({o.error})" if o.error else ""), file=sys.stderr)
        elif isinstance(event, RungSkipped):
            print(f"  {event.rung}: skipped ({event.reason})", file=sys.stderr)

    per_seed = []
    for seed in range(args.seeds):
        task = seeded(base, seed, args.limit, args.train_limit)
        print(f"seed {seed}: {len(task.train)} training, {len(task.eval)} eval examples", file=sys.stderr)
        result = climb(task, store, backend, rungs=select_rungs(task, RUNGS), all_rungs=True, exhaustive=True,
                       on_event=report)
        print(f"  run {result.run_id}", file=sys.stderr)
        per_seed.append(outcomes_by_rung(store, result.run_id))
    block = (f"{base.name}: overall accuracy over training seeds 0..{args.seeds - 1}, "
             f"{len(seeded(base, 0, args.limit, None).eval)} eval rows per seed\n\n{table(per_seed)}")
    print(block)
    if args.readme:
        sys.path.insert(0, str(ROOT / "bench"))
        from climb import replace_block

        readme = args.task.parent / "README.md"
        readme.write_text(replace_block(readme.read_text(), block, "seeds"))
        print(f"wrote {readme}", file=sys.stderr)


if __name__ == "__main__":
    main()
