"""Sequential evaluation: stop scoring a rung once its rows so far show it cannot matter.

A rung is evaluated in looks at growing shares of a seeded random order of the eval rows
(LOOK_FRACTIONS; the first at least MIN_FIRST_LOOK_ROWS, each later look adds at least
MIN_LOOK_ROWS rows; eval sets under twice that are simply evaluated whole). After each look but the last it pauses when it cannot meet the target: the
Clopper-Pearson upper bound of its pass rate on the target metric is below the target, by an
exact one-sided test at level ALPHA / (number of looks) (Bonferroni over the looks, so the chance
of wrongly pausing a rung anywhere in its evaluation stays below ALPHA).

A paused rung cannot be the recommendation while some rung meets the target, so its other rows
are asked only when the climb ends with no rung meeting it: then the best rung is recommended,
and a paused rung is finished unless it cannot beat the best one (`worse_than`: on the rows both
answered, among the rows where exactly one of them passes, the Clopper-Pearson upper bound of the
share this rung wins is below one half, the exact conditional form of McNemar's test, at the same
level). Asking a rung's remaining rows only when they can change the advice is what makes a climb
that meets its target on a fine-tune cheap: the prompt rungs below it stop after their first look.

A failed call counts as a failure here, as it does for the target; rows the target metric
cannot score (e.g. a judge's tag, assessed after evaluation) are left out, and with none left
nothing stops. Which rows were scored and why a rung stopped are recorded with the rung.
"""

from __future__ import annotations

import math
import random
from typing import Any, Callable, Collection, Mapping, Sequence

from ladder.backends.base import Backend
from ladder.eval.runner import evaluate
from ladder.scoring import Scored, target_outcomes
from ladder.stats import ALPHA, clopper_pearson_interval
from ladder.task import Task
from ladder.types import GenerationParams

LOOK_FRACTIONS = (0.25, 0.5, 1.0)
MIN_FIRST_LOOK_ROWS = 10
MIN_LOOK_ROWS = 20


def look_sizes(n_rows: int) -> list[int]:
    """Cumulative rows scored at each look. A set of fewer than twice MIN_LOOK_ROWS rows is scored
    in one look, as before looks existed. Otherwise the first look is a quarter of the rows but at
    least MIN_FIRST_LOOK_ROWS, and each later look adds at least MIN_LOOK_ROWS rows, the last one
    included. The first look may be smaller than the others because the climb asks the first looks
    of its prompt rungs together, in one batch (first_looks.py); a later look is a batch of its
    own, and small batches waste a CPU (50 instructed balance-shift prompts as 20 + 30 took
    1.24-1.35x one batch's time, AMD EPYC, 2 cores, BENCHMARKS.md), which is also why a small set
    is not split: where no rung meets the target every paused rung is finished, and romeo-bob's 30
    rows went as 10 + 20 for each of its rungs."""
    if n_rows < 2 * MIN_LOOK_ROWS:
        return [n_rows]
    sizes: list[int] = []
    for fraction in LOOK_FRACTIONS[:-1]:
        size = max(MIN_FIRST_LOOK_ROWS, math.ceil(fraction * n_rows))
        if (not sizes or size - sizes[-1] >= MIN_LOOK_ROWS) and n_rows - size >= MIN_LOOK_ROWS:
            sizes.append(size)
    return [*sizes, n_rows]


def look_order(ids: Sequence[str], seed: int) -> list[int]:
    """The order rows are scored in: a seeded shuffle, so each look is a random sample of the rows
    (data files are often grouped by category)."""
    order = list(range(len(ids)))
    random.Random(f"looks:{seed}").shuffle(order)
    return order


def _upper(k: int, n: int, looks: int) -> float:
    """One-sided (1 - ALPHA / looks) Clopper-Pearson upper bound of a rate."""
    return clopper_pearson_interval(k, n, confidence=1 - 2 * ALPHA / looks)[1]


def cannot_meet(outcomes: Mapping[str, bool], target: float, looks: int) -> str | None:
    """Why the rows so far show this rung cannot meet the target (None: they do not). `outcomes`:
    example id -> passed the target metric, for the rows scored so far."""
    n, k = len(outcomes), sum(outcomes.values())
    if n == 0:
        return None
    upper = _upper(k, n, looks)
    if upper >= target:
        return None
    return (f"stopped after {n} rows: pass rate at most {upper:.1%} < target {target:.1%} (exact one-sided "
            f"test at {ALPHA / looks:.3g}, {looks} looks)")


def worse_than(outcomes: Mapping[str, bool], best: tuple[str, Mapping[str, bool]], looks: int) -> str | None:
    """Why this rung cannot beat `best` (its name and outcomes by id) on the rows both answered
    (None: it might)."""
    name, theirs = best
    shared = [i for i in outcomes if i in theirs]
    wins = sum(outcomes[i] and not theirs[i] for i in shared)
    losses = sum(theirs[i] and not outcomes[i] for i in shared)
    if wins + losses == 0 or _upper(wins, wins + losses, looks) >= 0.5:
        return None
    return (f"worse than {name} on the rows both answered ({wins} won, {losses} lost; exact one-sided test at "
            f"{ALPHA / looks:.3g})")


def decision_outcomes(task: Task, gens: Sequence[Any]) -> dict[str, bool]:
    """Target outcomes on the rows rungs are chosen on (the dev rows with a selection split)."""
    if task.dev_ids:
        gens = [g for g in gens if g.example_id in task.dev_ids]
    return target_outcomes(gens, task.spec.target.metric)


def looks_that_could_stop(task: Task, order: Sequence[int], sizes: Sequence[int]) -> list[int]:
    """The looks (cumulative sizes) worth stopping to judge: those after which some outcome of
    this rung's rows could pause it, and the last. A look no outcome could pause at is merged into
    the next, so its rows go to the model in one larger batch and no decision changes.

    The test is the most pessimistic outcome, every row failed: it gives the lowest pass rate,
    and a Clopper-Pearson upper bound grows with the successes, so if cannot_meet does not stop on
    it, nothing would (e.g. a target of 10% and a look of 20 rows: 0 of 20 still allows
    18.5%). The number of looks in the Bonferroni split stays the planned one, so merging only
    lowers the chance of a pause."""
    ids = [task.eval[i].id for i in order]
    kept = [size for size in sizes[:-1]
            if cannot_meet(_pessimistic(task, ids[:size]), task.spec.target.value, len(sizes)) is not None]
    return [*kept, sizes[-1]]


def _pessimistic(task: Task, ids: Sequence[str]) -> dict[str, bool]:
    """Every row failed, over the rows the decision is made on (decision_outcomes' rows)."""
    return {i: False for i in ids if not task.dev_ids or i in task.dev_ids}


def evaluate_in_looks(task: Task, candidate: Any, backend: Backend, params: GenerationParams, in_looks: bool,
                      chunk_size: int, advance: Callable[[int], None]) -> tuple[list[Any], float, str | None]:
    """Evaluate in looks until every row is scored or a look shows the rung cannot meet the
    target (`in_looks` False: every row in one look). Returns the results in eval order, the
    seconds, and why it paused (None when it scored every row). Looks no outcome could pause at
    are merged into the next (looks_that_could_stop)."""
    rows = task.eval
    order, looks, planned = _look_plan(task, in_looks)
    results: dict[int, Any] = {}
    seconds, start = 0.0, 0
    for size in looks:
        chunk = order[start:size]
        result = evaluate(
            candidate, [rows[i] for i in chunk], backend, task.checks, params, chunk_size=chunk_size,
            on_progress=advance,
        )
        results.update(zip(chunk, result.results))
        seconds, start = seconds + result.seconds, size
        if size < len(rows):
            scored = [Scored(r.example.id, r.generation.error, r.assessments) for r in results.values()]
            stop = cannot_meet(decision_outcomes(task, scored), task.spec.target.value, planned)
            if stop is not None:
                return [results[i] for i in sorted(results)], seconds, stop
    return [results[i] for i in sorted(results)], seconds, None


def _look_plan(task: Task, in_looks: bool) -> tuple[list[int], list[int], int]:
    """The order rows are asked in, the looks taken (cumulative sizes) and the number planned."""
    sizes = look_sizes(len(task.eval)) if in_looks else [len(task.eval)]
    order = list(range(len(task.eval))) if len(sizes) == 1 else look_order([ex.id for ex in task.eval], task.spec.seed)
    return order, looks_that_could_stop(task, order, sizes), len(sizes)


def first_look(task: Task) -> list[Any]:
    """The eval rows evaluate_in_looks asks a rung first (its first look, in looks): what the
    climb asks of several prompt rungs together (first_looks.py)."""
    order, looks, _ = _look_plan(task, True)
    return [task.eval[i] for i in order[:looks[0]]]


def evaluate_rest(task: Task, candidate: Any, backend: Backend, params: GenerationParams, scored: Collection[str],
                  chunk_size: int, advance: Callable[[int], None]) -> tuple[list[Any], float]:
    """Finish a paused rung: evaluate the eval rows not in `scored` (their ids), in one look.
    Returns their results in eval order and the seconds."""
    rest = [ex for ex in task.eval if ex.id not in scored]
    result = evaluate(candidate, rest, backend, task.checks, params, chunk_size=chunk_size, on_progress=advance)
    return list(result.results), result.seconds


def planned_looks(task: Task) -> int:
    """How many looks a rung of `task` is planned in (the Bonferroni split of every test on it)."""
    return len(look_sizes(len(task.eval)))
