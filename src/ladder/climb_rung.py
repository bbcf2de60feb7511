"""One rung of the climb: prepare it (or take the candidate prepared ahead with others), evaluate
it in looks, record it in the store, and say what finishing it would take if it paused.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ladder.backends.base import Backend, answers_each, unwrap
from ladder.backends.batch import BatchBackend
from ladder.eval.paused import Paused
from ladder.eval.sequential import evaluate_in_looks
from ladder.events import EvalProgress, OnEvent, RungFinished, RungOutcome, Status, TrainStep
from ladder.rungs import Rung, RungContext
from ladder.scoring import codes_text, error_codes
from ladder.task import Task
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import RungRecord, Store
from ladder.types import Candidate, GenerationParams

EVAL_CHUNK = 64  # examples per call of a batching (local) backend: its answers are cached per chunk


def options_json(options: Any) -> dict[str, Any]:
    """The rung's validated options as recorded with it (exports show them as parameters)."""
    return options.model_dump(mode="json") if hasattr(options, "model_dump") else {}


@dataclass
class EvalProgressCount:
    """One rung's EvalProgress events: its rows answered so far, over its looks and its finish."""

    rung: str
    total: int
    on_event: OnEvent
    done: int = 0

    def __call__(self, n: int) -> None:
        self.done += n
        self.on_event(EvalProgress(self.rung, self.done, self.total))


def rung_context(task: Task, backend: Backend, teacher: Backend | None, artifacts: Path, name: str,
                 on_event: OnEvent) -> RungContext:
    """What rung `name` may read while it prepares; its messages and training steps become events."""
    return RungContext(
        task=task, backend=backend, artifacts=artifacts, teacher=teacher,
        on_status=lambda msg: on_event(Status(msg, rung=name)),
        on_train_step=lambda step, total, loss: on_event(TrainStep(name, step, total, loss)),
    )


def climb_rung(task: Task, store: Store, backend: CachedBackend, teacher: CachedBackend | None, run_id: str,
               position: int, rung: Rung, options: Any, params: GenerationParams, artifacts: Path,
               on_event: OnEvent, exhaustive: bool = False, *, name: str | None = None,
               answered_by: tuple[str | None, dict[str, Any] | None] = (None, None),
               prepared: Candidate | None = None, ahead_seconds: float = 0.0) -> tuple[RungOutcome, Paused | None]:
    """Prepare, evaluate and record one rung as row `name` (default: the rung's name), answered by
    the model `answered_by` (its label and recorded prices); with what finishing it takes when its
    evaluation paused after a look (eval/sequential.py). `prepared`: its candidate, prepared ahead
    with others whose first looks were asked in one batch (first_looks.py), `ahead_seconds` its
    share of that batch's time."""
    name = name or rung.name
    model, prices = answered_by
    t0 = time.perf_counter()
    ctx = rung_context(task, backend, teacher, artifacts, name, on_event)
    try:
        candidate = prepared if prepared is not None else rung.prepare(ctx, options)
    except (ValueError, RuntimeError, OSError) as e:
        store.add_rung_result(RungRecord(run_id, position, name, rung.kind, {"rung": name},
                                         status="failed", error=f"{type(e).__name__}: {e}", model=model,
                                         prices=prices))
        failed = RungOutcome(name, "failed", time.perf_counter() - t0, str(e))
        on_event(RungFinished(failed, None if isinstance(e, ValueError) else traceback.format_exc()))
        return failed, None
    if candidate.build.notes and candidate.kind == "finetune":  # a training bar left at 9/36 reads as
        # cut short unless the stop is said (other rungs' notes repeat what their own status lines said)
        on_event(Status(("reused: " if candidate.build.reused else "built: ") + candidate.build.notes, rung=name))

    advance = EvalProgressCount(name, len(task.eval), on_event)
    advance(0)
    batch = unwrap(backend)
    batch = batch if isinstance(batch, BatchBackend) else None
    submitted_before = len(batch.submitted) if batch else 0
    # a baseline is a reference line, and a Batch API gets the rung's whole eval as one batch:
    # both are scored whole; live calls go in looks, each in resumable chunks. Looks pay only for a
    # rung that pauses, and cost one that does not (50 rows as 20 + 30 took 1.24-1.35x the time of one
    # batch on a 2-core CPU): a fine-tune whose held-out training items already passed at the
    # target rate is scored in one look, decided before any eval row is seen
    in_looks = not (exhaustive or rung.kind == "baseline" or batch) and not (
        candidate.heldout_pass_rate is not None and candidate.heldout_pass_rate >= task.spec.target.value)
    # a Batch API gets a look's rows as one batch, and a remote backend commits each answer as it
    # ends (one chunk keeps every slot of its pool busy); the local model goes in resumable chunks
    chunk_size = max(1, len(task.eval)) if batch or answers_each(backend) else max(EVAL_CHUNK, task.spec.generation.rows_per_batch or 0)
    results, seconds, stop = evaluate_in_looks(task, candidate, backend, params, in_looks, chunk_size, advance)
    seconds += ahead_seconds
    described = candidate.describe()
    if batch is not None and candidate.answers is None:  # its rows are priced at the endpoint's batch price
        described = {**described, "execution": "batch", "batch_discount": batch.discount,
                     "batches": batch.submitted[submitted_before:]}
    rung_id = store.add_rung_result(RungRecord(
        run_id, position, name, rung.kind, {**described, "options": options_json(options)},
        build_seconds=candidate.build.seconds, build_money=candidate.build.money,
        build_tokens=candidate.build.train_tokens,
        build_call_tokens=candidate.build.call_tokens, build_reused=candidate.build.reused,
        build_notes=candidate.build.notes or None,
        eval_seconds=seconds, eval_stop=stop, model=model, prices=prices,
    ), results, candidate.retrievals)
    if stop is not None:
        on_event(Status(stop, rung=name))
    failed = [r.generation for r in results if r.generation.error is not None]
    if failed:  # an endpoint down or a key refused would otherwise read as a rung that merely scored 0
        on_event(Status(f"{len(failed)} of {len(results)} calls failed ({codes_text(error_codes(failed))}), the "
                        f"first with {failed[0].error[:300]!r}; they count against the target and are not wrong "
                        f"answers: `ladder climb {task.path} --retry-errors` asks them again", rung=name, level="warning"))
    outcome = RungOutcome(name, "ok", time.perf_counter() - t0 + ahead_seconds)
    on_event(RungFinished(outcome))
    return outcome, None if stop is None else Paused(name, rung_id, candidate, backend, chunk_size, advance)
