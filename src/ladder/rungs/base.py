"""What a rung is, and what it may use while preparing its Candidate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from ladder.backends.base import Backend
from ladder.task import Task
from ladder.validation_errors import format_validation_error
from ladder.types import Candidate


class RungOptions(BaseModel):
    """Base of each rung's options (the `rungs.<name>:` mapping in task.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RungOptionsError(ValueError):
    pass


@dataclass(frozen=True)
class RungContext:
    """Everything a rung may read while it prepares. `artifacts` is where it may write."""

    task: Task
    backend: Backend
    artifacts: Path  # long-lived, content-addressed outputs (adapters) shared across runs
    on_status: Callable[[str], None] = lambda _msg: None
    on_train_step: Callable[[int, int, float], None] | None = None
    teacher: Backend | None = None  # the backend of task.yaml's `teacher:`; set whenever the task has one


class Rung(Protocol):
    """A technique. It may also define `requires(task, options) -> str | None`: the reason it
    cannot run on this task (a missing prerequisite), or None; the climb then records it as
    skipped with that reason instead of failing it (see `unmet`). And a prompt rung may set
    `prepares_without_calls = True` where preparing it asks no model, trains nothing and builds
    no index: the climb may then prepare it before the rungs below it are evaluated, to ask its
    first rows in one batch with theirs (first_looks.py)."""

    name: ClassVar[str]
    kind: ClassVar[Literal["prompt", "finetune", "baseline"]]
    Options: ClassVar[type[RungOptions]]

    def prepare(self, ctx: RungContext, options: Any) -> Candidate:
        ...


def unmet(rung: Rung, task: Task, options: Any) -> str | None:
    """Why `rung` cannot run on `task` with `options` (its `requires`), or None when it can."""
    requires = getattr(rung, "requires", None)
    return None if requires is None else requires(task, options)


# -- prerequisites the rungs share; each returns the reason it is not met, or None ----------------

def needs_train(task: Task, rung: str, at_least: int = 1) -> str | None:
    if len(task.train) >= at_least:
        return None
    if not task.train:
        return f"{rung} needs training examples: set `data.train` in task.yaml"
    return f"{rung} needs {at_least} training examples, the task has {len(task.train)}"


def needs_corpus(task: Task, rung: str) -> str | None:
    if task.spec.corpus is not None:
        return None
    return f"{rung} needs a `corpus:` folder of documents in task.yaml"


def needs_instructions(task: Task, rung: str) -> str | None:
    if task.spec.prompts.instructions:
        return None
    return f"{rung} needs `prompts.instructions` in task.yaml"


def needs_local_model(task: Task, rung: str) -> str | None:
    if task.spec.model.backend == "local":
        return None
    return f"{rung} trains local weights: set `model.backend: local` in task.yaml"


def first_unmet(*reasons: str | None) -> str | None:
    return next((r for r in reasons if r is not None), None)


@dataclass(frozen=True)
class Variant:
    """One combination of a rung that sweeps options (rag's retriever x chunk size x top-k),
    climbed and recorded as its own rung row under `name`."""

    rung: Rung  # the Rung that prepares it
    name: str

    @property
    def kind(self) -> Literal["prompt", "finetune", "baseline"]:
        return self.rung.kind

    @property
    def Options(self) -> type[RungOptions]:  # noqa: N802 - mirrors Rung.Options
        return self.rung.Options

    @property
    def prepares_without_calls(self) -> bool:
        return bool(getattr(self.rung, "prepares_without_calls", False))

    def prepare(self, ctx: RungContext, options: Any) -> Candidate:
        return self.rung.prepare(ctx, options)

    def requires(self, task: Task, options: Any) -> str | None:
        return unmet(self.rung, task, options)


def expand(rung: Rung, options: RungOptions) -> list[tuple[Rung, Any]]:
    """(rung, options) rows to climb: one per variant for a rung with `variants()`, else itself."""
    variants = getattr(rung, "variants", None)
    if variants is None:
        return [(rung, options)]
    return [(Variant(rung, name), opts) for name, opts in variants(options)]  # type: ignore[misc]


def parse_options(rung: Rung, raw: dict[str, Any] | None) -> RungOptions:
    try:
        return rung.Options.model_validate(raw or {})
    except ValidationError as e:
        raise RungOptionsError(
            "; ".join(f"rungs.{rung.name}.{p}" for p in format_validation_error(e, rung.Options))
        ) from None
