"""What a climb asks: its model's backend with the task's generation settings, the teacher and
the judges, each behind the call cache.

    model_backend(task) -> Backend            the task's model, its precision measured on its own prompts
    Asking.of(model, task, store, ...)        that backend where the executor runs it, behind the cache

A second climb of the same task asks nothing new (tracking/cache.py); `Asking.fresh` re-asks and
overwrites, for the rungs named in `--refresh`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ladder.backends import backend_for
from ladder.backends.base import Backend, unwrap
from ladder.backends.batch import BatchBackend
from ladder.eval.executor import Executor, LocalExecutor
from ladder.judges import AnswerJudge, JudgeModel, PairwiseJudge, build_judge
from ladder.rungs.prompt import ChatPrompt
from ladder.task import Task
from ladder.task.spec import ModelSpec
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import Store
from ladder.types import Chat, GenerationParams


def generation_params(task: Task) -> GenerationParams:
    """The task's generation settings, as every model call of its climb asks with them."""
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


def judge_panel(task: Task, model: Backend, store: Store, use_cache: bool = True,
                on_status: Callable[[str], None] = lambda _m: None) -> list[AnswerJudge | PairwiseJudge]:
    """The task's `judges:`, each asking its model through the call cache at its prices. A judge
    whose model is the task's own asks `model` (no second copy of the weights); judges naming the
    same model share one backend."""
    shared: dict[str, CachedBackend] = {}
    panel: list[AnswerJudge | PairwiseJudge] = []
    for spec in task.spec.judges:
        own = spec.model
        own_model = None if own is None else own.model_dump(include=set(ModelSpec.model_fields))
        same = own_model is None or own_model == task.spec.model.model_dump()
        key = "" if same else repr(sorted(own.model_dump(mode="json", exclude={"prices"}).items()))  # type: ignore[union-attr]
        if key not in shared:
            raw = model if same else model_backend(task, own, on_status)
            shared[key] = CachedBackend(raw, store, read=use_cache, write=use_cache)
        prices = own.prices if own is not None and own.prices is not None else task.spec.prices
        panel.append(build_judge(spec, JudgeModel(shared[key], shared[key].fingerprint(), prices)))
    return panel


@dataclass(frozen=True)
class Asking:
    """One model's backend behind the call cache: `cached` reads and writes it, `fresh` re-asks
    and overwrites (the rungs named in `refresh`)."""

    cached: CachedBackend
    fresh: CachedBackend

    @classmethod
    def of(cls, model: Backend, view: Task, store: Store, use_cache: bool,
           executor: Executor | None) -> "Asking":
        """`model` as the climb asks it: where its calls run (`executor`), behind the call cache; a
        Batch API backend keeps its submitted batches in the store (a killed climb resumes them)."""
        batch = unwrap(model)
        if isinstance(batch, BatchBackend):
            batch.keep_in(store, store.runs_dir / "batches")
        answering = (executor or LocalExecutor()).backend(
            model, view.spec.model, generation_params(view), view.spec.generation.rows_per_batch)
        return cls(CachedBackend(answering, store, read=use_cache, write=use_cache),
                   CachedBackend(answering, store, read=False, write=use_cache))
