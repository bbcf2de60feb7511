"""First looks asked together: a run of prompt rungs answers its first rows in one batch.

Each rung is evaluated in looks (eval/sequential.py), and on a climb that meets its target on a
fine-tune the prompt rungs stop after their first look: 13 rows each on balance-shift (20 when
the first look had to be a batch of its own, eval/sequential.py). A local model answers 60 rows in
one batch in far less than three batches' time, since each decode step reads every weight however
few rows it serves: the first looks of zero_shot, instructed and few_shot took 12.7-13.8 s as one
batch of 60 against 20.6-21.0 s as three batches of 20, the answers identical (Intel Xeon with AMX, 2 cores, fp32, bench/first_looks.py; backends/batching.py
groups the rows by prompt prefix).

So when the climb reaches the first of a run of prompt rungs whose preparing asks no model
(`prepares_without_calls`), it prepares the run's rungs and asks their first looks in one call
through the call cache (CachedBackend.ask_ahead). Each rung is then evaluated as before, in its
turn, its first look answered from what was asked; its eval seconds carry its rows' share of the
shared batch's time (each answer's latency is its share of its batch).

The bet: once a rung meets the target the prompt rungs above it are skipped
(target_met.skip_once_met), and their first looks were asked for nothing (they stay in the call
cache for the next climb). It is taken only while no rung of the model has met the target, on a
local model, in looks (not with --exhaustive), for as many rungs as their first looks fill one of
the backend's batches (so what it can lose is less than a batch: where each look fills a batch,
as when a low target leaves nothing to pause at and the first look is every row, no rung is asked
ahead), and only for rungs that cost nothing to prepare: rag and few_shot_dynamic build an index
first, which would be spent for nothing as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Mapping, Sequence

from ladder.backends.batching import AUTO_MAX_ROWS
from ladder.eval.sequential import first_look
from ladder.events import OnEvent, Status
from ladder.rungs import Rung, RungContext, unmet
from ladder.task import Task
from ladder.tracking.cache import CachedBackend
from ladder.types import Candidate, GenerationParams


@dataclass(frozen=True)
class FirstLooks:
    """What was prepared and asked ahead, by the rung's index in the climb's rungs."""

    candidates: Mapping[int, Candidate] = field(default_factory=dict)
    seconds: Mapping[int, float] = field(default_factory=dict)  # its rows' share of the batch's time


def ahead_run(task: Task, rungs: Sequence[tuple[Rung, Any]], start: int, skip: Collection[int] = ()) -> list[int]:
    """Indices of the run of rungs from `start` that may be prepared ahead: prompt rungs that
    prepare without calls and can run on `task`, none of them in `skip` (rungs re-asked with
    --refresh, which ask through another cache), as many as their first looks fill one batch of
    the local backend. Looks that fill a batch each gain nothing together, and more rows would
    only raise what the bet loses."""
    per_batch = task.spec.generation.rows_per_batch or AUTO_MAX_ROWS
    fit = per_batch // max(1, len(first_look(task)))
    run: list[int] = []
    for index in range(start, min(len(rungs), start + fit)):
        rung, options = rungs[index]
        if (rung.kind != "prompt" or not getattr(rung, "prepares_without_calls", False) or index in skip
                or unmet(rung, task, options) is not None):
            break
        run.append(index)
    return run


def ask_first_looks(task: Task, rungs: Sequence[tuple[Rung, Any]], run: Sequence[int], backend: CachedBackend,
                    params: GenerationParams, context: Callable[[int], RungContext],
                    on_event: OnEvent) -> FirstLooks:
    """Prepare the rungs at `run` (indices into `rungs`; `context(index)` is each one's
    RungContext) and ask their first looks in one call. A rung whose prepare fails is left out:
    its own turn prepares it again and records the failure."""
    candidates: dict[int, Candidate] = {}
    for index in run:
        rung, options = rungs[index]
        try:
            candidates[index] = rung.prepare(context(index), options)
        except (ValueError, RuntimeError, OSError):
            continue
    asked = {i: c for i, c in candidates.items() if c.answers is None and c.adapter is None}
    if len(asked) < 2:  # one rung's look alone is what its own turn asks
        return FirstLooks(candidates)
    rows = first_look(task)
    chats = [(index, candidate.prompt.render(ex)) for index, candidate in asked.items() for ex in rows]
    names = ", ".join(rungs[i][0].name for i in asked)
    on_event(Status(f"asking the first {len(rows)} rows of {names} in one batch"))
    answers = backend.ask_ahead([chat for _, chat in chats], params)
    seconds: dict[int, float] = {}
    for (index, _), answer in zip(chats, answers):
        if answer is not None:
            seconds[index] = seconds.get(index, 0.0) + answer.latency_s
    return FirstLooks(candidates, seconds)
