"""A climb stopped from outside, as a CI timeout or a person stops it: `ladder climb` in a real
process, its model a real chat-completions server on 127.0.0.1 that holds every request until
the test has stopped the climb."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ladder.tracking.store import Store


@pytest.fixture()
def held(chat_servers, tiny_task: Path):
    """(task path, an Event set once the server got its first request); the server answers
    nothing until the test ends."""
    asked, release = threading.Event(), threading.Event()

    def respond(_body, _headers):
        asked.set()
        release.wait(timeout=120)
        return 200, chat_servers.completion("released"), {}

    url = chat_servers.start(respond)
    text = tiny_task.read_text().replace(
        "  backend: local\n  name: smollm2-135m-instruct\n", f"  backend: openai\n  name: stub-alias\n  base_url: {url}\n")
    assert "backend: openai" in text
    tiny_task.write_text(text)
    yield tiny_task, asked
    release.set()


def _climb(task: Path, runs: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ladder.cli", "climb", str(task), "--runs-dir", str(runs)],
                            env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _recorded(runs: Path) -> tuple[str, str | None]:
    with sqlite3.connect(runs / "ladder.sqlite") as db:
        return db.execute("SELECT status, finished_at FROM runs").fetchone()


def test_sigterm_stops_a_climb_as_ctrl_c_does_and_records_it_interrupted(held, tmp_path):
    task, asked = held
    proc = _climb(task, tmp_path / "runs")
    try:
        assert asked.wait(timeout=120), "the climb never asked the model"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr[-2000:]
    assert "interrupted: the run is recorded as interrupted" in stderr
    status, finished_at = _recorded(tmp_path / "runs")
    assert status == "interrupted" and finished_at is not None  # written by the climb itself


def test_a_climb_killed_outright_reads_as_interrupted_once_its_process_is_gone(held, tmp_path):
    task, asked = held
    proc = _climb(task, tmp_path / "runs")
    try:
        assert asked.wait(timeout=120), "the climb never asked the model"
        with Store(tmp_path / "runs") as store:
            (run,) = store.runs()
            assert run["status"] == "running"  # its process is alive
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert _recorded(tmp_path / "runs") == ("running", None)  # nothing could record the stop
    with Store(tmp_path / "runs") as store:
        (run,) = store.runs()
        assert run["status"] == "interrupted"
        assert store.run(run["id"])["status"] == "interrupted"
