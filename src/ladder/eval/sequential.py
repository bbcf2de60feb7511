"""Sequential evaluation: stop scoring a rung once its rows so far show it cannot matter.

A rung is evaluated in looks at growing shares of a seeded random order of the eval rows
(LOOK_FRACTIONS; the first look has at least MIN_FIRST_LOOK rows, so small eval sets are simply
evaluated whole). After each look but the last it stops when both hold, each shown by an exact
one-sided test at level ALPHA / (number of looks) (Bonferroni over the looks, so the chance of
wrongly stopping a rung anywhere in its evaluation stays below ALPHA for each of the two claims):

1. it cannot meet the target: the Clopper-Pearson upper bound of its pass rate on the target
   metric is below the target;
2. it cannot beat the best rung so far: on the rows both answered, among the rows where exactly
   one of them passes, the Clopper-Pearson upper bound of the share this rung wins is below one
   half (the exact conditional form of McNemar's test).

A failed call counts as a failure here, as it does for the target; rows the target metric
cannot score (e.g. a judge's tag, assessed after evaluation) are left out, and with none left
nothing stops. Which rows were scored and why a rung stopped are recorded with the rung.
"""

from __future__ import annotations

import math
import random
from typing import Any, Callable, Mapping, Sequence

from ladder.backends.base import Backend
from ladder.eval.runner import evaluate
from ladder.scoring import Scored, target_outcomes
from ladder.stats import ALPHA, clopper_pearson_interval
from ladder.task import Task
from ladder.types import GenerationParams

LOOK_FRACTIONS = (0.25, 0.5, 1.0)
MIN_FIRST_LOOK = 20


def look_sizes(n_rows: int) -> list[int]:
    """Cumulative rows scored at each look; one look (every row) when the set is small."""
    sizes = sorted({min(n_rows, max(MIN_FIRST_LOOK, math.ceil(f * n_rows))) for f in LOOK_FRACTIONS})
    return sizes if sizes and sizes[-1] == n_rows else [*sizes, n_rows]


def look_order(ids: Sequence[str], seed: int) -> list[int]:
    """The order rows are scored in: a seeded shuffle, so each look is a random sample of the rows
    (data files are often grouped by category)."""
    order = list(range(len(ids)))
    random.Random(f"looks:{seed}").shuffle(order)
    return order


def _upper(k: int, n: int, looks: int) -> float:
    """One-sided (1 - ALPHA / looks) Clopper-Pearson upper bound of a rate."""
    return clopper_pearson_interval(k, n, confidence=1 - 2 * ALPHA / looks)[1]


def judge_look(outcomes: Mapping[str, bool], target: float, looks: int,
               best: tuple[str, Mapping[str, bool]] | None) -> str | None:
    """Why to stop after this look (None: go on). `outcomes`: example id -> passed the target
    metric, for the rows scored so far; `best`: the best rung so far and its outcomes by id."""
    n, k = len(outcomes), sum(outcomes.values())
    if n == 0 or best is None:
        return None
    upper = _upper(k, n, looks)
    if upper >= target:
        return None
    name, theirs = best
    shared = [i for i in outcomes if i in theirs]
    wins = sum(outcomes[i] and not theirs[i] for i in shared)
    losses = sum(theirs[i] and not outcomes[i] for i in shared)
    if wins + losses == 0 or _upper(wins, wins + losses, looks) >= 0.5:
        return None
    return (f"stopped after {n} rows: pass rate at most {upper:.1%} < target {target:.1%}, and worse than "
            f"{name} on the rows both answered ({wins} won, {losses} lost; exact one-sided tests at "
            f"{ALPHA / looks:.3g} each, {looks} looks)")


def decision_outcomes(task: Task, gens: Sequence[Any]) -> dict[str, bool]:
    """Target outcomes on the rows rungs are chosen on (the dev rows with a selection split)."""
    if task.dev_ids:
        gens = [g for g in gens if g.example_id in task.dev_ids]
    return target_outcomes(gens, task.spec.target.metric)


def looks_that_could_stop(task: Task, order: Sequence[int], sizes: Sequence[int],
                          best: tuple[str, Mapping[str, bool]] | None) -> list[int]:
    """The looks (cumulative sizes) worth stopping to judge: those after which some outcome of
    this rung's rows could stop it, and the last. A look no outcome could stop at is merged into
    the next, so its rows go to the model in one larger batch (a CPU answers 50 rows in one batch
    much faster than in batches of 20, 5 and 25) and no decision changes.

    The test is the most pessimistic outcome, every row failed: it gives the lowest pass rate and,
    against the best rung, no win and the most losses, which make both one-sided bounds as low
    as any outcome can (a Clopper-Pearson upper bound grows with the successes and, for w wins
    in w + l, is at least that of 0 in l). If judge_look does not stop on it, nothing would. The
    number of looks in the Bonferroni split stays the planned one, so skipping only lowers the
    chance of a stop. Against a best rung that passed no row, as on balance-shift's prompt rungs,
    every row is scored in one look."""
    if best is None:
        return [sizes[-1]]
    ids = [task.eval[i].id for i in order]
    kept = [size for size in sizes[:-1]
            if judge_look(_pessimistic(task, ids[:size]), task.spec.target.value, len(sizes), best) is not None]
    return [*kept, sizes[-1]]


def _pessimistic(task: Task, ids: Sequence[str]) -> dict[str, bool]:
    """Every row failed, over the rows the decision is made on (decision_outcomes' rows)."""
    return {i: False for i in ids if not task.dev_ids or i in task.dev_ids}


def evaluate_in_looks(task: Task, candidate: Any, backend: Backend, params: GenerationParams,
                       best: tuple[str, dict[str, bool]] | None, chunk_size: int,
                       advance: Callable[[int], None]) -> tuple[list[Any], float, str | None]:
    """Evaluate in looks (eval/sequential.py) until every row is scored or a look says stop;
    `best` None scores every row in one look. Returns the results in eval order, the seconds, and
    why it stopped (None when it scored every row). Looks no outcome could stop at are merged
    into the next (looks_that_could_stop)."""
    rows = task.eval
    sizes = [len(rows)] if best is None else look_sizes(len(rows))
    order = list(range(len(rows))) if len(sizes) == 1 else look_order([ex.id for ex in rows], task.spec.seed)
    results: dict[int, Any] = {}
    seconds, start = 0.0, 0
    for size in looks_that_could_stop(task, order, sizes, best):
        chunk = order[start:size]
        result = evaluate(
            candidate, [rows[i] for i in chunk], backend, task.checks, params, chunk_size=chunk_size,
            on_progress=advance,
        )
        results.update(zip(chunk, result.results))
        seconds, start = seconds + result.seconds, size
        if size < len(rows) and best is not None:
            scored = [Scored(r.example.id, r.generation.error, r.assessments) for r in results.values()]
            stop = judge_look(decision_outcomes(task, scored), task.spec.target.value, len(sizes), best)
            if stop is not None:
                return [results[i] for i in sorted(results)], seconds, stop
    return [results[i] for i in sorted(results)], seconds, None
