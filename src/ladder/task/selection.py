"""The selection split: which eval rows are dev rows (rungs are chosen on them) and which are
test rows (the reported figures come from them).

Every rung answers dev and test rows together, so the climb needs no notion of the split; the
split is resolved once, at load, into `selection.dev_ids` of the task's spec, which each run
records, so the report reads it back from the store alone.
"""

from __future__ import annotations

import random
from typing import Sequence

from ladder.task.spec import SelectionSpec, TaskSpec
from ladder.types import Example


def draw_dev_ids(ids: Sequence[str], fraction: float, seed: int) -> tuple[str, ...]:
    """round(fraction x n) ids (at least 1, at most n - 1), drawn with `seed`; the draw depends
    on the set of ids, not on their order in the file."""
    pool = sorted(ids)
    k = min(len(pool) - 1, max(1, round(fraction * len(pool))))
    return tuple(sorted(random.Random(seed).sample(pool, k))) if k > 0 else ()


def resolve_selection(spec: TaskSpec, dev: Sequence[Example], evals: Sequence[Example]) -> tuple[TaskSpec, list[str]]:
    """The spec with `selection.dev_ids` filled in, and the problems found (file-level lines).

    `dev` are the rows of data.dev (empty without it); `evals` every row scored, dev rows included."""
    chosen = spec.selection
    ids = [e.id for e in evals]
    problems = []
    if dev and chosen is not None and (chosen.dev_fraction is not None or chosen.dev_ids is not None):
        problems.append("data.dev and selection both give dev rows: keep one")
    if chosen is not None and chosen.dev_fraction is not None and chosen.dev_ids is not None:
        problems.append("selection: give dev_fraction or dev_ids, not both")
    if problems:
        return spec, problems
    if dev:
        dev_ids = tuple(sorted(e.id for e in dev))
        chosen = SelectionSpec(dev_ids=dev_ids)
    elif chosen is None:
        return spec, []
    elif chosen.dev_fraction is not None:
        if len(ids) < 2:
            return spec, [f"selection.dev_fraction needs at least 2 eval rows (got {len(ids)})"]
        chosen = chosen.model_copy(update={"dev_ids": draw_dev_ids(ids, chosen.dev_fraction, chosen.seed)})
    elif chosen.dev_ids is not None:
        unknown = sorted(set(chosen.dev_ids) - set(ids))
        if unknown:
            return spec, [f"selection.dev_ids: not eval ids: {', '.join(unknown[:10])}"]
        if len(set(chosen.dev_ids)) >= len(ids):
            return spec, ["selection.dev_ids: every eval row is a dev row: nothing is left to report on"]
    else:
        return spec, []
    return spec.model_copy(update={"selection": chosen}), []
