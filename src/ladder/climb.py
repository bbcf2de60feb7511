"""The climb: prepare each rung cheapest first, evaluate it on the eval split, record it.

    Task -> for each rung: prepare -> Candidate -> evaluate -> store.add_rung_result

Everything expensive is content-addressed (model calls in the call cache, adapters by their
training inputs), so a second identical climb re-reads instead of re-running, and an
interrupted climb resumes where it stopped. Progress goes only to the caller's `on_event` as
ladder.events; the climb never draws on the terminal (the CLI does, cli/progress.py).
"""

from __future__ import annotations

import secrets
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ladder.backends import backend_for
from ladder.backends.base import Backend
from ladder.eval.runner import evaluate
from ladder.events import (
    EvalProgress, OnEvent, RungFinished, RungOutcome, RungSkipped, RungStarted, Status, TrainStep, ignore,
)
from ladder.rungs import MAIN_LADDER, Rung, RungContext, by_name, expand, parse_options, registered, unmet
from ladder.rungs.prompt import ChatPrompt
from ladder.diagnosis.teacher import ask_teacher
from ladder.scoring import accuracy
from ladder.task import Task
from ladder.task.spec import ModelSpec
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import RungRecord, Store
from ladder.types import Chat, GenerationParams


@dataclass(frozen=True)
class ClimbResult:
    run_id: str
    run_dir: Path
    outcomes: tuple[RungOutcome, ...]
    cache_hits: int
    cache_misses: int
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)


def select_rungs(task: Task, only: list[str] | None = None) -> list[tuple[Rung, Any]]:
    """The rungs to climb with their validated options, in registry (cheapest-first) order:
    those task.yaml's `rungs:` names, else the main ladder (rungs.MAIN_LADDER), and `only`.
    A rung whose prerequisites the task lacks is still returned: the climb records it as
    skipped with the reason (rungs.unmet).

    Raises ValueError naming unknown rungs or bad options before anything runs.
    """
    configured = task.spec.rungs
    wanted = list(configured) if configured is not None else list(MAIN_LADDER)
    if only:
        wanted = [n for n in wanted if n in only] + [n for n in only if n not in wanted]
    known = by_name()
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"unknown rung(s): {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [r for r in registered() if r.name in wanted]
    # A rung that sweeps options (rag) climbs one row per combination, e.g. rag(bm25,c256,k3).
    return [row for r in chosen for row in expand(r, parse_options(r, (configured or {}).get(r.name)))]


def new_run_id(task: Task) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{task.name}-{secrets.token_hex(2)}"


EVAL_CHUNK = 64  # examples per backend call: results are cached (and a kill resumes) per chunk


def generation_params(task: Task) -> GenerationParams:
    return GenerationParams(max_new_tokens=task.spec.generation.max_new_tokens)


def precision_sample(task: Task) -> list[Chat]:
    """The eval prompts (zero-shot) a local bfloat16/auto model is measured on against float32."""
    from ladder.backends.precision import SAMPLE_SIZE  # loads the local backend: only when asked

    prompt = ChatPrompt(system=task.spec.prompts.system)
    return [prompt.render(ex) for ex in task.eval[:SAMPLE_SIZE]]


def model_backend(task: Task, spec: ModelSpec | None = None, on_status: Callable[[str], None] = lambda _m: None) -> Backend:
    """backend_for `spec` (default: the task's model) with the task's generation settings, its
    precision measured on the task's own eval prompts."""
    return backend_for(
        spec or task.spec.model, params=generation_params(task), batch_size=task.spec.generation.rows_per_batch,
        precision_sample=precision_sample(task), on_status=on_status,
    )


def teacher_backend(task: Task, model: Backend, on_status: Callable[[str], None] = lambda _m: None) -> Backend | None:
    """The task's `teacher:`: None without one; `model` itself when it names the task's own model
    (its answers are then the model's, cached once); else a backend of its own."""
    spec = task.spec.teacher
    if spec is None:
        return None
    if spec.model_dump(include=set(ModelSpec.model_fields)) == task.spec.model.model_dump():
        return model
    return model_backend(task, spec, on_status)


def climb(
    task: Task,
    store: Store,
    backend: Backend | None = None,
    *,
    rungs: Sequence[tuple[Rung, Any]] | None = None,
    teacher: Backend | None = None,
    all_rungs: bool = False,
    on_event: OnEvent = ignore,
) -> ClimbResult:
    """Climb `rungs` (default: select_rungs(task)) and record every result in `store`; return
    where it went. Progress is reported only as events to `on_event` (ladder.events).

    `backend` answers as the task's model (default: built by model_backend); `teacher` is the
    `teacher:` of task.yaml (default: built by teacher_backend). Both go through the call cache.
    Once a rung meets the task's target the later (costlier) rungs are skipped, unless
    `all_rungs`. With a teacher, distill learns from it and it then answers the knowledge
    failures, for the diagnosis."""
    rungs = select_rungs(task) if rungs is None else rungs

    def status(message: str) -> None:
        on_event(Status(message))

    model = backend or model_backend(task, on_status=status)
    backend = CachedBackend(model, store)
    if teacher is None:
        teacher = teacher_backend(task, model, on_status=status)
    taught = None if teacher is None else backend if teacher is model else CachedBackend(teacher, store)
    run_id = new_run_id(task)
    run_dir = store.runs_dir / run_id
    run_dir.mkdir(parents=True)
    store.start_run(
        run_id, task.name, str(task.path), task.fingerprint(), task.spec.model_dump(mode="json"),
        model=backend.fingerprint(),
    )
    params = generation_params(task)
    artifacts = store.runs_dir / "artifacts"
    outcomes: list[RungOutcome] = []
    spent = 0.0
    met_by: str | None = None
    t_climb = time.perf_counter()
    run_status = "interrupted"
    try:
        for position, (rung, options) in enumerate(rungs):
            budget = task.spec.budget.money
            skip = None
            if rung.kind == "finetune" and budget is not None and spent >= budget:
                skip = f"budget of {budget} spent"
            elif met_by is not None:
                skip = f"target met by {met_by} (--all climbs every rung)"
            if skip is None:  # a missing prerequisite: skipped with its reason, not failed
                skip = unmet(rung, task, options)
            if skip is not None:
                _record_skip(store, run_id, position, rung, skip)
                outcomes.append(RungOutcome(rung.name, "skipped", 0.0, skip))
                on_event(RungSkipped(rung.name, skip))
                continue
            on_event(RungStarted(rung.name, rung.kind, position))
            outcomes.append(_climb_one(
                task, store, backend, taught, run_id, position, rung, options, params, artifacts, on_event
            ))
            spent += _rung_money(store, run_id, rung.name)
            if not all_rungs and met_by is None and _meets_target(task, store, run_id, rung.name):
                met_by = rung.name
        if taught is not None:
            _ask_teacher(task, store, run_id, taught, params, on_event)
        run_status = "finished"
    finally:
        store.finish_run(run_id, run_status)
    caches = [backend] if taught in (None, backend) else [backend, taught]
    return ClimbResult(
        run_id=run_id, run_dir=run_dir, outcomes=tuple(outcomes),
        cache_hits=sum(c.hits for c in caches), cache_misses=sum(c.misses for c in caches),
        seconds=time.perf_counter() - t_climb, details={"target_met_by": met_by},
    )


def _meets_target(task: Task, store: Store, run_id: str, rung: str) -> bool:
    """Whether this rung's accuracy on the target metric reaches the target (same rule as the report)."""
    row = next((r for r in store.rung_results(run_id) if r.rung == rung and r.status == "ok"), None)
    if row is None:
        return False
    quality = accuracy(store.generations(row.id), task.spec.target.metric)
    return quality is not None and quality >= task.spec.target.value


def _record_skip(store: Store, run_id: str, position: int, rung: Rung, reason: str) -> None:
    store.add_rung_result(RungRecord(run_id, position, rung.name, rung.kind,
                                     {"rung": rung.name, "description": reason}, status="skipped"))


def _ask_teacher(task: Task, store: Store, run_id: str, teacher: CachedBackend, params: GenerationParams,
                 on_event: OnEvent) -> None:
    """Let the teacher answer the knowledge failures (cached, costed); a failure here only loses
    the teacher split of the diagnosis."""
    spec = task.spec.teacher
    try:
        prices = (spec.prices if spec is not None and spec.prices is not None else task.spec.prices).model_dump()
        ask_teacher(store, run_id, teacher, task.checks, {e.id: e for e in task.eval},
                    params, prices, spec.max_examples if spec is not None else 100,
                    on_status=lambda msg: on_event(Status(msg)))
    except (ValueError, RuntimeError, OSError) as e:
        on_event(Status(f"teacher skipped: {type(e).__name__}: {e}", level="warning"))


def _rung_money(store: Store, run_id: str, rung: str) -> float:
    return sum(r.build_money for r in store.rung_results(run_id) if r.rung == rung)


def _climb_one(task: Task, store: Store, backend: CachedBackend, teacher: CachedBackend | None, run_id: str,
               position: int, rung: Rung, options: Any, params: GenerationParams, artifacts: Path,
               on_event: OnEvent) -> RungOutcome:
    t0 = time.perf_counter()
    ctx = RungContext(
        task=task, backend=backend, artifacts=artifacts, teacher=teacher,
        on_status=lambda msg: on_event(Status(msg, rung=rung.name)),
        on_train_step=lambda step, total, loss: on_event(TrainStep(rung.name, step, total, loss)),
    )
    try:
        candidate = rung.prepare(ctx, options)
    except (ValueError, RuntimeError, OSError) as e:
        store.add_rung_result(RungRecord(run_id, position, rung.name, rung.kind, {"rung": rung.name},
                                         status="failed", error=f"{type(e).__name__}: {e}"))
        failed = RungOutcome(rung.name, "failed", time.perf_counter() - t0, str(e))
        on_event(RungFinished(failed, None if isinstance(e, ValueError) else traceback.format_exc()))
        return failed

    total = len(task.eval)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        on_event(EvalProgress(rung.name, done, total))

    on_event(EvalProgress(rung.name, 0, total))
    result = evaluate(
        candidate, task.eval, backend, task.checks, params,
        chunk_size=max(EVAL_CHUNK, task.spec.generation.rows_per_batch or 0),
        on_progress=advance,
    )
    rung_id = store.add_rung_result(RungRecord(
        run_id, position, rung.name, rung.kind, candidate.describe(),
        build_seconds=candidate.build.seconds, build_money=candidate.build.money,
        build_tokens=candidate.build.train_tokens, build_reused=candidate.build.reused,
        eval_seconds=result.seconds,
    ), result.results)
    if candidate.retrievals:
        store.add_retrievals(rung_id, dict(candidate.retrievals))
    outcome = RungOutcome(rung.name, "ok", time.perf_counter() - t0)
    on_event(RungFinished(outcome))
    return outcome
