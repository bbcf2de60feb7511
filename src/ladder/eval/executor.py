"""Where a climb's model calls run: in this process (`local`, the default) or on a Ray cluster (`ray`).

An executor only decides who answers: it turns the task's model into the backend that sits under
the call cache. The cache, the checks and the store stay with the driver (the `ladder climb`
process), so however many workers answer, one process writes the store and the cache, and a
killed climb resumes the same way.
"""

from __future__ import annotations

from typing import Protocol

from ladder.backends.base import Backend
from ladder.task.spec import ModelSpec
from ladder.types import GenerationParams


class Executor(Protocol):
    name: str

    def backend(self, model: Backend, spec: ModelSpec, params: GenerationParams, batch_size: int | None) -> Backend:
        """The backend that answers the climb's calls as `model` (built from `spec`) would."""
        ...


class LocalExecutor:
    """The calls run in this process, on the model itself."""

    name = "local"

    def backend(self, model: Backend, spec: ModelSpec, params: GenerationParams, batch_size: int | None) -> Backend:
        return model
