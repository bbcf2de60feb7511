"""What a rung is, and what it may use while preparing its Candidate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from ladder.backends.base import Backend
from ladder.task import Task
from ladder.task.spec import format_validation_error
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
    name: ClassVar[str]
    kind: ClassVar[Literal["prompt", "finetune", "baseline"]]
    Options: ClassVar[type[RungOptions]]

    def prepare(self, ctx: RungContext, options: Any) -> Candidate:
        ...


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

    def prepare(self, ctx: RungContext, options: Any) -> Candidate:
        return self.rung.prepare(ctx, options)


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
