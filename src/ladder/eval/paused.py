"""Finishing paused rungs: the rows a rung skipped are asked only when they can change the advice.

A rung pauses after a look that shows it cannot meet the target (eval/sequential.py). While some
rung of the same model meets the target, the advice is the cheapest rung that does, and a paused
rung cannot be it: its other rows would change nothing. When none meets it, the best rung is
the advice, so each paused rung is finished (its other rows asked, judged and stored on the same
row) unless its rows so far show it cannot beat the best rung (`worse_than`, at the level of
one look), which then joins its reason for stopping. They are taken in climb order, each against
the best rung as it stands then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ladder.backends.base import Backend
from ladder.eval.sequential import decision_outcomes, evaluate_rest, planned_looks, worse_than
from ladder.events import OnEvent, Status
from ladder.judges import AnswerJudge
from ladder.judges.run import judge_rung
from ladder.task import Task
from ladder.tracking.store import Store
from ladder.types import Candidate, GenerationParams


@dataclass(frozen=True)
class Paused:
    """A rung whose evaluation paused after a look, and what finishing it takes."""

    name: str  # its row name
    rung_id: int  # its stored rung result
    candidate: Candidate
    backend: Backend  # the backend it was asked through (the call cache)
    chunk_size: int
    advance: Callable[[int], None]  # its eval progress, counting on from its paused rows


def best_rung(task: Task, store: Store, run_id: str) -> tuple[str, dict[str, bool]] | None:
    """The climbed rung with the highest target pass rate on the rows it was scored on
    (baselines aside), and its outcomes by example id."""
    best: tuple[float, str, dict[str, bool]] | None = None
    for row in store.rung_results(run_id):
        if row.status != "ok" or row.kind == "baseline":
            continue
        outcomes = decision_outcomes(task, store.generations(row.id))
        if outcomes:
            quality = sum(outcomes.values()) / len(outcomes)
            if best is None or quality > best[0]:
                best = (quality, row.rung, outcomes)
    return None if best is None else (best[1], best[2])


def finish_paused(task: Task, store: Store, run_id: str, paused: Sequence[Paused], params: GenerationParams,
                  judges: Sequence[AnswerJudge], on_event: OnEvent) -> list[str]:
    """Finish each paused rung that might beat the best rung (none of the model's rungs met the
    target); returns the names of those finished."""
    looks, finished = planned_looks(task), []
    for rung in paused:
        row = next(r for r in store.rung_results(run_id) if r.id == rung.rung_id)
        scored = store.generations(rung.rung_id)
        best = best_rung(task, store, run_id)
        worse = None if best is None or best[0] == rung.name else worse_than(
            decision_outcomes(task, scored), best, looks)
        if worse is not None:
            store.set_eval_stop(rung.rung_id, f"{row.eval_stop}; {worse}")
            continue
        on_event(Status("no rung met the target, and this one might be the best: scoring its other rows",
                        rung=rung.name))
        results, seconds = evaluate_rest(task, rung.candidate, rung.backend, params,
                                         {g.example_id for g in scored}, rung.chunk_size, rung.advance)
        store.finish_rung_eval(rung.rung_id, results, seconds, rung.candidate.retrievals)
        judge_rung(judges, store, row, on_event, judged={g.id for g in scored})
        finished.append(rung.name)
    return finished
