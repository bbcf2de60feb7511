"""`ladder climb --retry-errors`: ask again only the rows of a recorded run that ended in error.

A repair of one run, not a climb: each new answer takes its error row's place, scored by the
task's checks, and everything else the run recorded stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ladder.backends.base import Backend
from ladder.asking import generation_params, model_backend
from ladder.events import EvalProgress, OnEvent, Status, ignore
from ladder.metrics.checks import run_checks
from ladder.task import Task
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import Store
from ladder.types import Message


@dataclass(frozen=True)
class RetryErrorsResult:
    """What `retry_errors` did to one run."""

    run_id: str
    asked: int  # rows asked again (those that had ended in error)
    answered: int  # of them, now answered (and scored)
    still_failing: int  # of them, failed again: their row holds the new error(code)
    not_asked: tuple[str, ...] = ()  # rungs whose error rows could not be asked again, with why


def retry_errors(task: Task, store: Store, run_id: str, backend: Backend | None = None, *,
                 on_event: OnEvent = ignore) -> RetryErrorsResult:
    """Ask again only the rows of run `run_id` that ended in error (`ladder climb --retry-errors`):
    each new answer replaces its error row and is scored by the task's checks; a row that fails
    again keeps the new error(code). Every other row, and everything else the run recorded, stay
    as they are. The calls go through the call cache (an answer another climb got since is not
    paid for again). Raises ValueError when the task changed since the run (climb it again then)."""
    run = store.run(run_id)
    if run["task_hash"] != task.fingerprint():
        raise ValueError(f"the task changed since run {run_id} (its spec or data): climb it again instead")
    cached = CachedBackend(backend or model_backend(task, on_status=lambda m: on_event(Status(m))), store)
    params = generation_params(task)
    examples = {ex.id: ex for ex in task.eval}
    asked = answered = 0
    not_asked: list[str] = []
    for row in store.rung_results(run_id):
        failed = [g for g in store.generations(row.id) if g.error is not None and g.example_id in examples] \
            if row.status == "ok" else []
        if not failed:
            continue
        adapter = row.candidate.get("adapter")
        if adapter is not None and not Path(adapter).exists():
            not_asked.append(f"{row.rung}: its adapter {adapter} is gone")
            continue
        chats = [tuple(Message(m["role"], m["content"]) for m in g.prompt) for g in failed]
        done = 0

        def advance(n: int, rung: str = row.rung, total: int = len(failed)) -> None:
            nonlocal done
            done += n
            on_event(EvalProgress(rung, done, total))

        for old, new in zip(failed, cached.generate(chats, params, adapter=adapter, on_progress=advance)):
            ex = examples[old.example_id]
            assessed = () if new.error else tuple(run_checks(new.text, ex.expected, task.checks + ex.checks, ex))
            store.replace_failed_generation(old.id, new, assessed)
            answered += new.error is None
        asked += len(failed)
    return RetryErrorsResult(run_id, asked, answered, asked - answered, tuple(not_asked))
