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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Collection, Sequence

from ladder.asking import Asking, generation_params, judge_panel, model_backend, teacher_backend
from ladder.backends.base import Backend
from ladder.climb_rung import climb_rung, rung_context
from ladder.eval.executor import Executor
from ladder.eval.paused import Paused, finish_paused
from ladder.first_looks import FirstLooks, ahead_run, ask_first_looks
from ladder.events import OnEvent, RungOutcome, RungSkipped, RungStarted, Status, ignore
from ladder.judges import AnswerJudge, PairwiseJudge
from ladder.judges.run import compare_rungs, judge_rung
from ladder.provenance import run_environment
from ladder.rungs import MAIN_LADDER, Rung, Variant, by_name, expand, parse_options, registered, unmet
from ladder.diagnosis.teacher import TEACHER_KIND, ask_teacher
from ladder.target_met import FinetuneEstimator, MetTarget, meets_target, met_cost, skip_once_met
from ladder.task import Task
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import RungRecord, Store
from ladder.types import GenerationParams


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
    if configured is None:
        # a reference line (random_baseline) is drawn where it exists: on a free-form task the
        # default list leaves it out rather than listing it as skipped
        chosen = [r for r in chosen if r.kind != "baseline" or r.name in (only or ())
                  or unmet(r, task, parse_options(r, None)) is None]
    # A rung that sweeps options (rag) climbs one row per combination, e.g. rag(bm25,c256,k3).
    return [row for r in chosen for row in expand(r, parse_options(r, (configured or {}).get(r.name)))]


def new_run_id(task: Task) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{task.name}-{secrets.token_hex(2)}"




def check_against(task: Task, rungs: Sequence[tuple[Rung, Any]]) -> None:
    """ValueError naming each pairwise judge whose `against` is not a rung this climb climbs."""
    climbed = [rung.name for rung, _ in rungs]
    for spec in task.spec.judges:
        if spec.against is not None and spec.against not in climbed:
            raise ValueError(f"judges: {spec.name!r} compares against {spec.against!r}, which this climb does not "
                             f"climb ({', '.join(climbed)})")


def climb(
    task: Task,
    store: Store,
    backend: Backend | None = None,
    *,
    rungs: Sequence[tuple[Rung, Any]] | None = None,
    teacher: Backend | None = None,
    all_rungs: bool = False,
    use_cache: bool = True,
    refresh: Collection[str] = (),
    exhaustive: bool = False,
    on_event: OnEvent = ignore,
    executor: Executor | None = None,
) -> ClimbResult:
    """Climb `rungs` (default: select_rungs(task)) and record every result in `store`; return
    where it went. Progress is reported only as events to `on_event` (ladder.events).

    `backend` answers as the task's model (default: built by model_backend); `teacher` is the
    `teacher:` of task.yaml (default: built by teacher_backend). Both go through the call cache.
    Once a rung meets the task's target, the later prompt rungs (longer prompts) are skipped, and
    so is each fine-tune whose estimated cost at the task's `volume` (tracking/estimate.py) is not
    below the cheapest rung that met it; `all_rungs` climbs every rung.

    With a teacher, distill learns from it and it then answers the knowledge failures, for the
    diagnosis.

    The task's `judges:` (judge_panel) read each ok rung's answered rows right after its eval, so
    the target and the early stop see their verdicts; pairwise judges compare the rungs after the
    last one. Raises ValueError for a pairwise judge whose `against` rung is not climbed.

    `use_cache=False` neither reads nor writes the call cache; the rungs named in `refresh` (a
    rung's name, or a sweeping rung's for all its variants) re-ask every call and overwrite
    their cache entries. Raises ValueError for a `refresh` name that is not climbed.

    Each rung is evaluated in looks (eval/sequential.py) and pauses once its rows so far show it
    cannot meet the target. When a model's rungs end with none meeting it, each paused rung that
    might beat the best is finished (eval/paused.py); `exhaustive` scores every row.

    `executor` decides where the model's calls run (eval/executor.py): in this process (default)
    or on Ray workers; the cache and the store are written here either way."""
    rungs = select_rungs(task) if rungs is None else rungs
    check_refresh(rungs, refresh)
    check_against(task, rungs)

    def status(message: str) -> None:
        on_event(Status(message))

    views = model_views(task)
    model = backend or model_backend(task, on_status=status)
    first = Asking.of(model, task, store, use_cache, executor)
    if teacher is None:
        teacher = teacher_backend(task, model, on_status=status)
    taught = None if teacher is None else first.cached if teacher is model else CachedBackend(
        teacher, store, read=use_cache, write=use_cache)
    # the rungs named in `refresh` ask through caches that re-ask and overwrite
    fresh_taught = None if taught is None else first.fresh if taught is first.cached else CachedBackend(
        teacher, store, read=False, write=use_cache)
    judges = judge_panel(task, model, store, use_cache, status)
    run_id = new_run_id(task)
    run_dir = store.runs_dir / run_id
    run_dir.mkdir(parents=True)
    store.start_run(
        run_id, task.name, str(task.path), task.fingerprint(), task.spec.model_dump(mode="json"),
        model=first.cached.fingerprint(), environment=run_environment(task.spec.seed),
    )
    run = _Climb(
        task=task, store=store, run_id=run_id, rungs=rungs, params=generation_params(task),
        artifacts=store.runs_dir / "artifacts", taught=taught, fresh_taught=fresh_taught,
        answer_judges=[j for j in judges if isinstance(j, AnswerJudge)], all_rungs=all_rungs,
        exhaustive=exhaustive, on_event=on_event,
        refreshed=frozenset(i for i, (r, _) in enumerate(rungs) if set(_names(r)) & set(refresh)),
    )
    asked = [first]
    met_by: str | None = None
    cheapest: MetTarget | None = None  # of the first model's rungs that met the target, the cheapest at volume
    t_climb = time.perf_counter()
    run_status = "interrupted"
    try:
        for label, view in views:
            asking = first if label is None or view.spec.model == task.spec.model else Asking.of(
                model_backend(view, on_status=status), view, store, use_cache, executor)
            asked.append(asking)
            climbed = run.climb_model(label, view, asking)
            if asking is first:
                met_by, cheapest = climbed.met, climbed.cheapest
        _compare(judges, store, run_id, on_event)
        if taught is not None:
            _ask_teacher(task, store, run_id, taught, run.params, on_event)
        run_status = "finished"
    finally:
        store.finish_run(run_id, run_status)
    judged = [j.model.backend for j in judges]
    caches = {id(c): c for a in asked for c in (a.cached, a.fresh)}
    caches.update({id(c): c for c in (taught, fresh_taught, *judged) if c is not None})
    return ClimbResult(
        run_id=run_id, run_dir=run_dir, outcomes=tuple(run.outcomes),
        cache_hits=sum(c.hits for c in caches.values()), cache_misses=sum(c.misses for c in caches.values()),
        seconds=time.perf_counter() - t_climb,
        details={"target_met_by": met_by, "cheapest_meeting_target": cheapest.rung if cheapest else None},
    )


@dataclass
class _ModelClimb:
    """One model's inner loop so far. Each model climbs its own: a target met on one model stops
    only that model's rungs."""

    estimator: FinetuneEstimator
    met: str | None = None  # the first rung that met the target (not with all_rungs)
    cheapest: MetTarget | None = None  # of the rungs that met it, the cheapest at the task's volume
    any_met: bool = False  # with all_rungs too: paused rungs are finished only when none met it
    paused: list[Paused] = field(default_factory=list)


@dataclass
class _Climb:
    """One climb's settings and its running record (rows' positions, money spent, outcomes),
    which every model's inner loop continues."""

    task: Task
    store: Store
    run_id: str
    rungs: Sequence[tuple[Rung, Any]]
    params: GenerationParams
    artifacts: Path
    taught: CachedBackend | None
    fresh_taught: CachedBackend | None  # the teacher for the rungs named in `refresh`
    answer_judges: list[AnswerJudge]
    all_rungs: bool
    exhaustive: bool
    on_event: OnEvent
    refreshed: frozenset[int]  # indices in `rungs` of the rungs named in `refresh`
    outcomes: list[RungOutcome] = field(default_factory=list)
    position: int = 0
    spent: float = 0.0

    def climb_model(self, label: str | None, view: Task, asking: Asking) -> _ModelClimb:
        """Every rung on one model (`view`: the task as that model sees it), cheapest first; then,
        where none met the target, the paused rungs that might beat the best are finished."""
        state = _ModelClimb(FinetuneEstimator(view, asking.cached, self.artifacts / "adapters"))
        ahead = FirstLooks()
        for index, (rung, options) in enumerate(self.rungs):
            name = row_name(rung.name, label)
            skip = self._skip_reason(rung, options, view, label, state)
            if skip is not None:
                _record_skip(self.store, self.run_id, self.position, rung, name, skip, _answered_by(view, label))
                self.outcomes.append(RungOutcome(name, "skipped", 0.0, skip))
                self.on_event(RungSkipped(name, skip))
                self.position += 1
                continue
            self.on_event(RungStarted(name, rung.kind, self.position))
            if (index not in ahead.candidates and not self.exhaustive and state.cheapest is None
                    and view.spec.model.backend == "local"):
                ahead = self._ask_ahead(view, label, asking, index) or ahead
            asks = (asking.fresh, self.fresh_taught) if index in self.refreshed else (asking.cached, self.taught)
            outcome, pause = climb_rung(
                view, self.store, *asks, self.run_id, self.position, rung, options, self.params, self.artifacts,
                self.on_event, self.exhaustive, name=name, answered_by=_answered_by(view, label),
                prepared=ahead.candidates.get(index), ahead_seconds=ahead.seconds.get(index, 0.0),
            )
            self.outcomes.append(outcome)
            self.position += 1
            if pause is not None:
                state.paused.append(pause)
            if outcome.status == "ok":  # verdicts first: the target may rest on them
                row = next(r for r in self.store.rung_results(self.run_id) if r.rung == name)
                judge_rung(self.answer_judges, self.store, row, self.on_event)
            self.spent += _rung_money(self.store, self.run_id, name)
            self._note_target(rung, name, view, state)
        if state.paused and not state.any_met:
            finish_paused(view, self.store, self.run_id, state.paused, self.params, self.answer_judges, self.on_event)
        return state

    def _skip_reason(self, rung: Rung, options: Any, view: Task, label: str | None,
                     state: _ModelClimb) -> str | None:
        """Why the rung is not climbed, or None: the budget is spent (fine-tunes), an endpoint
        cannot be trained here, a cheaper rung already met the target, or a prerequisite is missing
        (skipped with its reason, not failed)."""
        budget = self.task.spec.budget.money
        if rung.kind == "finetune" and budget is not None and self.spent >= budget:
            return f"budget of {budget} spent"
        if rung.kind == "finetune" and label is not None and view.spec.model.backend != "local":
            return (f"{rung.name} trains local weights; {label} is served by an endpoint: fine-tune it "
                    "with `ladder finetune-remote` and list the fine-tuned model under `models:`")
        if state.cheapest is not None and not self.all_rungs:
            skip = skip_once_met(rung, options, state.met or state.cheapest.rung, state.cheapest, state.estimator,
                                 view)
            if skip is not None:
                return skip
        return unmet(rung, view, options)

    def _ask_ahead(self, view: Task, label: str | None, asking: Asking, index: int) -> FirstLooks | None:
        """The first looks of the run of prompt rungs from `index`, asked in one batch
        (first_looks.py); None where the run is a single rung."""
        run = ahead_run(view, self.rungs, index, self.refreshed)
        if len(run) < 2:
            return None
        return ask_first_looks(view, self.rungs, run, asking.cached, self.params, lambda i: rung_context(
            view, asking.cached, self.taught, self.artifacts, row_name(self.rungs[i][0].name, label),
            self.on_event), self.on_event)

    def _note_target(self, rung: Rung, name: str, view: Task, state: _ModelClimb) -> None:
        """Whether the rung just climbed met the target, and if so whether it is the cheapest that
        did. A baseline (random labels) is a reference line: it never ends the climb."""
        meets = rung.kind != "baseline" and meets_target(view, self.store, self.run_id, name)
        state.any_met = state.any_met or meets
        if meets and not self.all_rungs:
            state.met = state.met or name
            measured = met_cost(view, self.store, self.run_id, name)
            if measured is not None and (
                    state.cheapest is None or measured.cost.cost_at_volume < state.cheapest.cost.cost_at_volume):
                state.cheapest = measured


def _compare(judges: Sequence[AnswerJudge | PairwiseJudge], store: Store, run_id: str, on_event: OnEvent) -> None:
    """Each pairwise judge over every ok rung against its `against` rung, after the whole climb."""
    rows = [r for r in store.rung_results(run_id) if r.kind not in (TEACHER_KIND, "baseline")]
    for judge in judges:
        if isinstance(judge, PairwiseJudge) and not compare_rungs(judge, store, run_id, rows, on_event):
            on_event(Status(f"judge {judge.name}: nothing compared ({judge.spec.against} has no answers to compare "
                            "with, or no other rung has)", level="warning"))


def model_views(task: Task) -> list[tuple[str | None, Task]]:
    """The models a climb climbs on, each as (label, the task as that model sees it: its `model`
    and its `prices`). One model (no `models:`): [(None, task)], its rows named as ever."""
    if not task.spec.models:
        return [(None, task)]
    return [(m.display_label, replace(task, spec=task.spec.model_copy(
        update={"model": m.base(), "prices": task.spec.prices_of(m)}))) for m in task.spec.models]


def row_name(rung: str, label: str | None) -> str:
    """A rung's row name: `instructed`, or `instructed@<model label>` in a climb of several models."""
    return rung if label is None else f"{rung}@{label}"


def _answered_by(view: Task, label: str | None) -> tuple[str, dict[str, Any] | None]:
    """(model label, its prices as recorded) of a rung row; prices only where `models:` gave several."""
    return (label or view.spec.model.display_label,
            None if label is None else view.spec.prices.model_dump(mode="json"))


def check_refresh(rungs: Sequence[tuple[Rung, Any]], refresh: Collection[str]) -> None:
    """ValueError naming each rung in `refresh` that is not among `rungs`."""
    unknown = set(refresh) - {n for rung, _ in rungs for n in _names(rung)}
    if unknown:
        raise ValueError(f"--refresh: {', '.join(sorted(unknown))} not among the rungs climbed "
                         f"({', '.join(r.name for r, _ in rungs)})")


def _names(rung: Rung) -> tuple[str, ...]:
    """The names `refresh` knows a rung by: its own, and a variant's sweeping rung's."""
    return (rung.name, rung.rung.name) if isinstance(rung, Variant) else (rung.name,)


def _record_skip(store: Store, run_id: str, position: int, rung: Rung, name: str, reason: str,
                 answered_by: tuple[str, dict[str, Any] | None]) -> None:
    store.add_rung_result(RungRecord(run_id, position, name, rung.kind, {"rung": name, "description": reason},
                                     status="skipped", model=answered_by[0], prices=answered_by[1]))


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
