"""The Ray executor: a climb's model calls fanned out over the actors of a Ray cluster.

    driver (ladder climb): cache lookup -> RayBackend.generate(misses) -> cache + store writes
                                               │ pieces of `rows_per_task` chats
                           actor 1 .. actor N: backend_for(spec), loaded once, answers its pieces

Each actor builds the task's model from its spec once and keeps it (a local model's weights are
loaded once per actor, an adapter once per actor). Actors only answer and return Generations; the
driver keeps the call cache, runs the checks and writes the store, so resume and the cache keep
one writer.

A worker that dies mid-run loses nothing: Ray restarts the actor and re-runs the pieces it had
not returned (`max_restarts`, `max_task_retries`); a piece whose actor is gone for good is sent to
another actor, and only after `retries` such tries do its rows come back as failed calls (errors,
never wrong answers). Keys are not shipped: a remote model's key is read from each worker's own
environment, as on the driver.

On a multi-machine cluster the adapters of fine-tuned rungs must be at the same path on every
node (a shared runs folder), since actors load them by path.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from ladder.backends.base import Backend, ProgressFn, unwrap
from ladder.task.spec import ModelSpec
from ladder.types import Chat, Generation, GenerationParams

INSTALL_HINT = "pip install 'ladder[ray]'"


class RayMissing(RuntimeError):
    """ray is not installed: the executor needs the optional extra."""


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayMissing(f"--executor ray needs the ray package: {INSTALL_HINT}") from None
    return ray


class ModelWorker:
    """One actor: the task's model, built once from its spec, answering the pieces sent to it."""

    def __init__(self, spec: dict[str, Any], params: GenerationParams, batch_size: int | None):
        from ladder.backends.factory import backend_for

        self.model = backend_for(ModelSpec.model_validate(spec), params=params, batch_size=batch_size)

    def pid(self) -> int:
        return os.getpid()

    def identity(self, adapter: str | None = None) -> tuple[int, str]:
        """This worker's process id and the fingerprint of the weights it answers with."""
        return os.getpid(), self.model.fingerprint(adapter)

    def generate(self, chats: Sequence[Chat], params: GenerationParams, adapter: str | None) -> list[Generation]:
        return self.model.generate(chats, params, adapter)


def worker_spec(model: Backend, spec: ModelSpec) -> dict[str, Any]:
    """The spec each actor builds its model from. A local model whose precision the driver measured
    (dtype auto) runs in the dtype the driver chose, so the workers' answers are the driver's."""
    chosen = getattr(unwrap(model), "dtype", None)
    if spec.backend == "local" and spec.dtype == "auto" and chosen in ("float32", "bfloat16"):
        spec = spec.model_copy(update={"dtype": chosen})
    return spec.model_dump(mode="json")


class RayBackend:
    """A Backend whose generate runs on Ray actors; identity and token counts stay the driver's
    model's (`inner`, which fine-tuning rungs unwrap to train on)."""

    def __init__(self, model: Backend, spec: ModelSpec, params: GenerationParams, batch_size: int | None, *,
                 workers: int, rows_per_task: int = 8, retries: int = 2, max_restarts: int = 2):
        self.inner = model
        self.name = model.name
        self.rows_per_task = rows_per_task
        self.retries = retries
        ray = require_ray()
        actor = ray.remote(num_cpus=1, max_restarts=max_restarts, max_task_retries=max_restarts)(ModelWorker)
        self.actors = [actor.remote(worker_spec(model, spec), params, batch_size) for _ in range(workers)]
        self._checked: set[str | None] = set()  # adapters whose worker fingerprints matched the driver's
        self.worker_pids: list[int] = []  # each actor's process when its identity was last checked

    def fingerprint(self, adapter: str | None = None) -> str:
        return self.inner.fingerprint(adapter)

    def count_tokens(self, chat: Chat) -> int:
        return self.inner.count_tokens(chat)

    def pids(self) -> list[int]:
        """The process id of each actor now (a restarted actor has a new one); answered after the
        work already queued on it."""
        ray = require_ray()
        return ray.get([a.pid.remote() for a in self.actors])

    def _check_identity(self, adapter: str | None) -> None:
        """Refuse to cache answers under the driver's fingerprint that other weights gave."""
        if adapter in self._checked:
            return
        ray = require_ray()
        expected = self.inner.fingerprint(adapter)
        identities = ray.get([a.identity.remote(adapter) for a in self.actors])
        self.worker_pids = [pid for pid, _ in identities]
        found = {fingerprint for _, fingerprint in identities}
        if found != {expected}:
            raise RuntimeError(f"the Ray workers' model ({', '.join(sorted(found))}) is not the driver's ({expected}); "
                               "set model.dtype explicitly, and put adapters where every node reads them")
        self._checked.add(adapter)

    def generate(self, chats: Sequence[Chat], params: GenerationParams, adapter: str | None = None,
                 on_progress: ProgressFn | None = None) -> list[Generation]:
        if not chats:
            return []
        ray = require_ray()
        self._check_identity(adapter)
        pieces = [list(range(i, min(i + self.rows_per_task, len(chats))))
                  for i in range(0, len(chats), self.rows_per_task)]
        results: list[Generation | None] = [None] * len(chats)
        tries = [0] * len(pieces)

        def submit(p: int) -> Any:
            actor = self.actors[(p + tries[p]) % len(self.actors)]  # a retry goes to the next actor
            return actor.generate.remote([chats[i] for i in pieces[p]], params, adapter)

        pending = {submit(p): p for p in range(len(pieces))}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            p = pending.pop(done[0])
            try:
                answers = ray.get(done[0])
            except ray.exceptions.RayError as e:
                tries[p] += 1
                if tries[p] <= self.retries:
                    pending[submit(p)] = p
                    continue
                answers = [Generation("", 0, 0, 0.0, "error", error=f"ray worker: {type(e).__name__}")
                           for _ in pieces[p]]
            for i, g in zip(pieces[p], answers):
                results[i] = g
            if on_progress is not None:
                on_progress(len(pieces[p]))
        return [g for g in results if g is not None]

    def close(self) -> None:
        ray = require_ray()
        for a in self.actors:
            ray.kill(a)
        self.actors = []


class RayExecutor:
    """Fans the climb's calls out over a Ray cluster: `address` of a running one, else a local
    instance started here (and stopped by `close`)."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, rows_per_task: int = 8,
                 local_cpus: int | None = None):
        self.address = address
        self.workers = workers
        self.rows_per_task = rows_per_task
        self.local_cpus = local_cpus
        self._started = False
        self.backends: list[RayBackend] = []  # one per climb backend made, each with its actors

    def _connect(self) -> Any:
        ray = require_ray()
        if not ray.is_initialized():
            if self.address is not None:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(num_cpus=self.local_cpus, include_dashboard=False, log_to_driver=False)
            self._started = True
        return ray

    def backend(self, model: Backend, spec: ModelSpec, params: GenerationParams, batch_size: int | None) -> Backend:
        ray = self._connect()
        workers = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        made = RayBackend(model, spec, params, batch_size, workers=workers, rows_per_task=self.rows_per_task)
        self.backends.append(made)
        return made

    def close(self) -> None:
        for b in self.backends:
            b.close()
        self.backends = []
        if self._started:
            require_ray().shutdown()
            self._started = False

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
