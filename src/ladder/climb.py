"""The climb: prepare each rung cheapest first, evaluate it on the eval split, record it.

    Task -> for each rung: prepare -> Candidate -> evaluate -> store.add_rung_result

Everything expensive is content-addressed (model calls in the call cache, adapters by their
training inputs), so a second identical climb re-reads instead of re-running, and an
interrupted climb resumes where it stopped.
"""

from __future__ import annotations

import secrets
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ladder.backends.base import Backend
from ladder.eval.runner import evaluate
from ladder.rungs import BY_NAME, REGISTRY, Rung, RungContext, expand, parse_options
from ladder.diagnosis.teacher import ask_teacher
from ladder.scoring import accuracy
from ladder.task import Task
from ladder.task.spec import ModelSpec
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import RungRecord, Store
from ladder.types import GenerationParams


@dataclass(frozen=True)
class RungOutcome:
    rung: str
    status: str  # ok | failed | skipped
    seconds: float
    error: str | None = None


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
    """The rungs to climb with their validated options, in registry (cheapest-first) order.

    Raises ValueError naming unknown rungs or bad options before anything runs.
    """
    configured = task.spec.rungs
    wanted = list(configured) if configured is not None else [r.name for r in REGISTRY]
    if only:
        wanted = [n for n in wanted if n in only] + [n for n in only if n not in wanted]
    unknown = [n for n in wanted if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown rung(s): {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    chosen = [r for r in REGISTRY if r.name in wanted]
    # A rung that sweeps options (rag) climbs one row per combination, e.g. rag(bm25,c256,k3).
    return [row for r in chosen for row in expand(r, parse_options(r, (configured or {}).get(r.name)))]


def new_run_id(task: Task) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{task.name}-{secrets.token_hex(2)}"


EVAL_CHUNK = 64  # examples per backend call: results are cached (and a kill resumes) per chunk
PRECISION_SAMPLE = 8  # eval prompts generated in both precisions before a bfloat16 climb


def make_backend(task: Task, spec: ModelSpec | None = None, on_status: Callable[[str], None] | None = None) -> Backend:
    """The backend for `spec` (default: the task's model). A local model asked to run in
    bfloat16 (or `auto`) is first checked against float32 on a sample of eval prompts."""
    spec = spec or task.spec.model
    if spec.backend == "local":
        from ladder.backends.local import LocalBackend

        batch = task.spec.generation.rows_per_batch
        if spec.dtype == "float32":
            return LocalBackend(spec.name, dtype="float32", batch_size=batch)
        from ladder.backends.precision import choose_dtype
        from ladder.rungs.prompt import ChatPrompt

        prompt = ChatPrompt(system=task.spec.prompts.system)
        sample = [prompt.render(ex) for ex in task.eval[:PRECISION_SAMPLE]]
        params = GenerationParams(max_new_tokens=task.spec.generation.max_new_tokens)
        choice = choose_dtype(spec.name, spec.dtype, sample, params, batch)
        if on_status is not None and choice.match_rate is not None:
            on_status(f"precision: bfloat16 answers {choice.match_rate:.0%} of {choice.sample} sample prompts "
                      f"exactly as float32 does; running in {choice.dtype} ({choice.reason})")
        elif on_status is not None:
            on_status(f"precision: running in {choice.dtype} ({choice.reason})")
        return choice.backend  # the weights loaded for the sample are kept, not loaded again
    if spec.backend == "openai":
        from ladder.backends.openai_compat import OpenAICompatBackend, resolve_endpoint

        endpoint, key_env = resolve_endpoint(spec.endpoint, spec.base_url, spec.api_key_env,
                                             "api_key_env" in spec.model_fields_set)
        return OpenAICompatBackend(endpoint, spec.name, base_url=spec.base_url, api_key_env=key_env,
                                   concurrency=spec.concurrency)
    raise ValueError(f"model.backend {spec.backend!r} is not available; use `local` or `openai`")


def climb(
    task: Task,
    store: Store,
    backend: Backend | None = None,
    only: list[str] | None = None,
    console: Console | None = None,
    all_rungs: bool = False,
    teacher: Backend | None = None,
) -> ClimbResult:
    """Climb the task's rungs and record every result in `store`; return where it went.

    Once a rung meets the task's target the later (costlier) rungs are skipped, unless
    `all_rungs`. With a `teacher:` in task.yaml (or a `teacher` backend given), the teacher then
    answers the knowledge failures, for the diagnosis."""
    console = console or Console(stderr=True)
    rungs = select_rungs(task, only)
    backend = CachedBackend(backend or make_backend(task, on_status=console.log), store)
    run_id = new_run_id(task)
    run_dir = store.runs_dir / run_id
    run_dir.mkdir(parents=True)
    store.start_run(
        run_id, task.name, str(task.path), task.fingerprint(), task.spec.model_dump(mode="json"),
        model=backend.fingerprint(),
    )
    params = GenerationParams(max_new_tokens=task.spec.generation.max_new_tokens)
    artifacts = store.runs_dir / "artifacts"
    outcomes: list[RungOutcome] = []
    spent = 0.0
    met_by: str | None = None
    t_climb = time.perf_counter()
    status = "interrupted"
    try:
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
        ) as progress:
            for position, (rung, options) in enumerate(rungs):
                t0 = time.perf_counter()
                budget = task.spec.budget.money
                skip = None
                if rung.kind == "finetune" and budget is not None and spent >= budget:
                    skip = f"budget of {budget} spent"
                elif met_by is not None:
                    skip = f"target met by {met_by} (--all climbs every rung)"
                if skip is not None:
                    _record_skip(store, run_id, position, rung, skip)
                    outcomes.append(RungOutcome(rung.name, "skipped", 0.0, skip))
                    console.log(f"{rung.name}: skipped: {skip}")
                    continue
                outcomes.append(_climb_one(
                    task, store, backend, run_id, position, rung, options, params, artifacts, progress, console
                ))
                spent += _rung_money(store, run_id, rung.name)
                console.log(f"{rung.name}: {outcomes[-1].status} in {time.perf_counter() - t0:.1f}s")
                if not all_rungs and met_by is None and _meets_target(task, store, run_id, rung.name):
                    met_by = rung.name
        if task.spec.teacher is not None or teacher is not None:
            _ask_teacher(task, store, run_id, backend, teacher, params, console)
        status = "finished"
    finally:
        store.finish_run(run_id, status)
    return ClimbResult(
        run_id=run_id, run_dir=run_dir, outcomes=tuple(outcomes),
        cache_hits=backend.hits, cache_misses=backend.misses, seconds=time.perf_counter() - t_climb,
        details={"target_met_by": met_by},
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


def _ask_teacher(task: Task, store: Store, run_id: str, backend: CachedBackend, teacher: Backend | None,
                 params: GenerationParams, console: Console) -> None:
    """Let the teacher answer the knowledge failures (cached, costed); a failure here only loses
    the teacher split of the diagnosis."""
    spec = task.spec.teacher
    try:
        if teacher is None:
            same = spec is not None and spec.model_dump(include=set(ModelSpec.model_fields)) == task.spec.model.model_dump()
            teacher = backend.inner if same else make_backend(task, spec)
        prices = (spec.prices if spec is not None and spec.prices is not None else task.spec.prices).model_dump()
        ask_teacher(store, run_id, CachedBackend(teacher, store), task.checks, {e.id: e for e in task.eval},
                    params, prices, spec.max_examples if spec is not None else 100, on_status=console.log)
    except (ValueError, RuntimeError, OSError) as e:
        console.log(f"[yellow]teacher skipped:[/yellow] {type(e).__name__}: {e}")


def _rung_money(store: Store, run_id: str, rung: str) -> float:
    return sum(r.build_money for r in store.rung_results(run_id) if r.rung == rung)


def _climb_one(task: Task, store: Store, backend: CachedBackend, run_id: str, position: int,
               rung: Rung, options: Any, params: GenerationParams, artifacts: Path,
               progress: Progress, console: Console) -> RungOutcome:
    t0 = time.perf_counter()
    train_bar: list[Any] = []

    def on_train_step(step: int, total: int, loss: float) -> None:
        if not train_bar:
            train_bar.append(progress.add_task(f"{rung.name}: train", total=total))
        progress.update(train_bar[0], completed=step, description=f"{rung.name}: train loss {loss:.3f}")

    ctx = RungContext(
        task=task, backend=backend, artifacts=artifacts,
        on_status=lambda msg: console.log(f"{rung.name}: {msg}"), on_train_step=on_train_step,
    )
    try:
        candidate = rung.prepare(ctx, options)
    except (ValueError, RuntimeError, OSError) as e:
        store.add_rung_result(RungRecord(run_id, position, rung.name, rung.kind, {"rung": rung.name},
                                         status="failed", error=f"{type(e).__name__}: {e}"))
        console.log(f"[red]{rung.name} failed while preparing:[/red] {e}")
        if not isinstance(e, ValueError):
            console.log(traceback.format_exc())
        return RungOutcome(rung.name, "failed", time.perf_counter() - t0, str(e))

    bar = progress.add_task(f"{rung.name}: eval", total=len(task.eval))
    result = evaluate(
        candidate, task.eval, backend, task.checks, params,
        chunk_size=max(EVAL_CHUNK, task.spec.generation.rows_per_batch or 0),
        on_progress=lambda n: progress.advance(bar, n),
    )
    rung_id = store.add_rung_result(RungRecord(
        run_id, position, rung.name, rung.kind, candidate.describe(),
        build_seconds=candidate.build.seconds, build_money=candidate.build.money,
        build_tokens=candidate.build.train_tokens, build_reused=candidate.build.reused,
        eval_seconds=result.seconds,
    ), result.results)
    if candidate.retrievals:
        store.add_retrievals(rung_id, dict(candidate.retrievals))
    return RungOutcome(rung.name, "ok", time.perf_counter() - t0)
