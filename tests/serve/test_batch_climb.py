"""A climb with `execution: batch` against `ladder serve`'s Batch API, killed (SIGKILL) after its
batch was submitted and before its results came back, then started again: the second climb finds
the batch id in the run store and polls it instead of submitting again, maps every result back by
custom_id, and the report prices the rung at the endpoint's batch price. Real server subprocess,
real local model, real climb subprocesses, real SQLite."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest

from ladder.serve.launch import running_server
from ladder.tracking.store import Store

pytestmark = pytest.mark.slow


def batch_task(tiny_task: Path, base_url: str) -> Path:
    text = tiny_task.read_text()
    model = ("model:\n  backend: openai\n  endpoint: ladder-serve\n  name: smollm2-135m-instruct\n"
             f"  base_url: {base_url}\n  execution: batch\n  batch_poll_s: 1\n")
    text = re.sub(r"model:\n  backend: local\n  name: smollm2-135m-instruct\n", model, text)
    text = re.sub(r"rungs:\n(  .*\n)+", "rungs:\n  zero_shot:\n", text)
    text = text.replace("max_new_tokens: 24", "max_new_tokens: 6")
    assert "execution: batch" in text and "lora_sft" not in text and "max_new_tokens: 6" in text
    tiny_task.write_text(text)
    return tiny_task


def climb(task: Path, runs: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ladder.cli", "climb", str(task), "--runs-dir", str(runs),
                             "--no-report"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def submitted(runs: Path) -> list[tuple[str, str]]:
    try:
        with sqlite3.connect(runs / "ladder.sqlite", timeout=5) as db:
            return db.execute("SELECT batch_id, status FROM remote_batches").fetchall()
    except sqlite3.OperationalError:  # the store or its table is not there yet
        return []


def test_batch_climb_resumes_after_sigkill(tiny_task, tmp_path):
    endpoints = tmp_path / "endpoints.yaml"  # the server's batch priced like OpenAI's, for the report
    endpoints.write_text("ladder-serve:\n  batch_discount: 0.5\n")
    runs = tmp_path / "runs"
    with running_server("--data-dir", str(tmp_path / "serve"), "--batch-size", "4",
                        log=tmp_path / "server.log") as url:
        task = batch_task(tiny_task, url)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", "LADDER_ENDPOINTS": str(endpoints)}
        first = climb(task, runs, env)
        deadline = time.monotonic() + 600
        while not submitted(runs):
            assert first.poll() is None, first.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "the climb never submitted its batch"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)  # between upload and completion: the batch id is all it kept
        first.wait()
        ((batch_id, _),) = submitted(runs)
        with Store(runs) as store:
            (run,) = store.runs()
            assert run["status"] == "interrupted"  # killed outright: its process is gone
            assert store.rung_results(run["id"]) == []

        second = climb(task, runs, env)
        output = second.communicate(timeout=900)[0]  # generous: the machine may be shared
        assert second.returncode in (0, 1), output[-3000:]
        assert f"batch {batch_id}: found in the store" in output and "submitted" not in output

        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
        batches = client.batches.list().data
        assert [b.id for b in batches] == [batch_id]  # never submitted twice
        assert batches[0].status == "completed" and batches[0].request_counts.total == 4

    with Store(runs) as store:
        run = store.runs()[-1]
        (rung,) = store.rung_results(run["id"])
        gens = store.generations(rung.id)
        assert len(gens) == 4 and all(g.error is None and g.output for g in gens)
        assert all(0 < g.completion_tokens <= 6 for g in gens)
        assert rung.candidate["execution"] == "batch" and rung.candidate["batches"] == [batch_id]
        assert [b.status for b in store.remote_batches()] == ["completed"]
        from ladder.report import summarize

        (entry,) = summarize(store, run["id"])["rungs"]
    assert entry["execution"] == "batch" and entry["live_cost_per_1k_requests"] > 0
    assert entry["cost_per_1k_requests"] == pytest.approx(0.5 * entry["live_cost_per_1k_requests"])
    # the batch's files are kept beside the runs: the input is what `vllm run-batch` reads
    (input_file,) = (runs / "batches").glob("*.input.jsonl")
    lines = [json.loads(x) for x in input_file.read_text().splitlines()]
    assert [x["custom_id"] for x in lines] == [f"request-{i}" for i in range(4)]
    assert {x["url"] for x in lines} == {"/v1/chat/completions"} and all(x["method"] == "POST" for x in lines)
    assert len((runs / "batches").glob("*.output.jsonl").__next__().read_text().splitlines()) == 4
