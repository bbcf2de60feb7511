"""`--executor ray` on a real local Ray instance: the same rows as the local executor, and a worker
killed mid-run loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from ladder.climb import climb, select_rungs
from ladder.events import EvalProgress
from ladder.report import summarize
from ladder.task import load_task
from ladder.tracking.store import Store

ray = pytest.importorskip("ray", reason="the ray extra: pip install 'ladder[ray]'")


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray instance of 2 CPUs for this module's tests (its workers inherit this
    environment), shut down after them: kept for the whole session, its raylet was still
    retrying a killed actor's task while tests/training's two-process training ran on the
    same 2 cores, and that training once died there (SIGABRT in a rank)."""
    for attempt in range(3):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            break
        except Exception:  # Ray waits a fixed 30 s for its raylet, which a busy machine can exceed
            ray.shutdown()
            if attempt == 2:
                raise
    yield ray
    ray.shutdown()


def _rows(store: Store, run_id: str) -> list[tuple]:
    """Every recorded row of a run: rung, example, answer, tokens, error, verdicts."""
    return [(row.rung, g.example_id, g.output, g.prompt_tokens, g.completion_tokens, g.error,
             tuple((a.name, a.passed, a.score, a.error) for a in g.assessments))
            for row in store.rung_results(run_id) for g in store.generations(row.id)]


@pytest.mark.slow
def test_ray_climb_with_a_killed_worker_records_the_local_executors_rows(ray_cluster, backend, tiny_task, tmp_path):
    from ladder.eval.ray_executor import RayExecutor

    task = load_task(tiny_task)
    rungs = select_rungs(task, ["zero_shot"])
    with Store(tmp_path / "local") as local_store:
        local = climb(task, local_store, backend, rungs=rungs, all_rungs=True)
        local_rows, local_summary = _rows(local_store, local.run_id), summarize(local_store, local.run_id)

    killed: list[int] = []
    with RayExecutor(workers=2, rows_per_task=1) as executor, Store(tmp_path / "ray") as store:
        def kill_a_busy_worker(event):
            # at the first answered row, actor 0 still has a row queued (each actor has 2 of the 4)
            if isinstance(event, EvalProgress) and event.done > 0 and not killed:
                pid = executor.backends[0].worker_pids[0]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        result = climb(task, store, backend, rungs=rungs, all_rungs=True, executor=executor,
                       on_event=kill_a_busy_worker)
        assert killed and executor.backends[0].pids()[0] != killed[0], "the actor was not killed and restarted"
        rows = _rows(store, result.run_id)
        summary = summarize(store, result.run_id)

    assert result.cache_misses == len(local_rows) == len(task.eval)  # the workers answered every row
    assert all(r[5] is None for r in rows), "a row was lost to the killed worker"
    assert rows == local_rows
    assert [(r["rung"], r["quality"], r["form_accuracy"], r["knowledge_accuracy"]) for r in summary["rungs"]] == \
        [(r["rung"], r["quality"], r["form_accuracy"], r["knowledge_accuracy"]) for r in local_summary["rungs"]]


def test_ray_options_need_the_ray_executor_and_ray_needs_its_extra(tiny_task, tmp_path):
    def ladder(*args: str, prelude: str = "") -> subprocess.CompletedProcess:
        code = prelude + "from ladder.cli import app; app(prog_name='ladder')"
        return subprocess.run([sys.executable, "-c", code, "climb", str(tiny_task), "--runs-dir",
                               str(tmp_path / "runs"), *args], capture_output=True, text=True, timeout=300)

    r = ladder("--ray-workers", "2")
    assert r.returncode == 2 and "--executor ray" in r.stderr
    r = ladder("--executor", "ray", prelude="import sys; sys.modules['ray'] = None; ")
    assert r.returncode == 2 and "pip install 'ladder[ray]'" in r.stderr, r.stderr[-2000:]
    assert not (tmp_path / "runs").exists()  # refused before anything ran
