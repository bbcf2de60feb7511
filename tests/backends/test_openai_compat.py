"""OpenAICompatBackend against a real `ladder serve` on 127.0.0.1 (the `ladder_server` fixture):
the real `openai` SDK, real HTTP, the real model answering. Faults come from the server's
documented test-only header, X-Ladder-Test-Fault."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ladder.backends.endpoints import Endpoint
from ladder.backends.openai_compat import OpenAICompatBackend
from ladder.backends.retry import RetrySettings
from ladder.types import GenerationParams, Message

pytestmark = pytest.mark.slow

CHATS = [
    (Message("user", "What is the capital of France?"),),
    (Message("system", "Answer in one short sentence."), Message("user", "Why is the sky blue?")),
    (Message("user", "Say hello."),),
]


def remote(server, monkeypatch, model="smollm2-135m-instruct", **kw) -> OpenAICompatBackend:
    monkeypatch.setenv(server.key_env, server.key)
    endpoint = Endpoint(name="test", base_url=server.base_url, api_key_env=server.key_env)
    return OpenAICompatBackend(endpoint, model, **kw)


def test_answers_equal_the_local_backend(ladder_server, backend, monkeypatch):
    params = GenerationParams(max_new_tokens=12)
    got = remote(ladder_server, monkeypatch, concurrency=3).generate(CHATS, params)
    want = backend.generate(CHATS, params)
    assert [g.text for g in got] == [g.text for g in want]  # same order, same greedy answers
    for chat, g, w in zip(CHATS, got, want):
        assert g.error is None and g.finish_reason == w.finish_reason
        assert g.prompt_tokens == w.prompt_tokens == backend.count_tokens(chat)
        assert g.completion_tokens == w.completion_tokens > 0
        assert g.latency_s > 0


def test_unknown_model_is_an_error_per_request(ladder_server, monkeypatch):
    gens = remote(ladder_server, monkeypatch, model="gpt-17").generate(CHATS[:2], GenerationParams(max_new_tokens=4))
    assert len(gens) == 2
    for g in gens:
        assert g.finish_reason == "error" and g.text == ""
        assert g.error.startswith("error(404): HTTP 404") and "gpt-17" in g.error


def test_content_filter_and_refusal(ladder_server, monkeypatch):
    params = GenerationParams(max_new_tokens=4)
    filtered = remote(ladder_server, monkeypatch, headers={"X-Ladder-Test-Fault": "content_filter"})
    g = filtered.generate(CHATS[:1], params)[0]
    assert g.finish_reason == "content_filter" and g.error is None and g.text == "" and g.prompt_tokens > 0
    refused = remote(ladder_server, monkeypatch, headers={"X-Ladder-Test-Fault": "refusal"})
    g = refused.generate(CHATS[:1], params)[0]
    assert g.finish_reason == "error" and g.error.startswith("error(refusal):")


def test_retries_429_then_answers_and_gives_up_on_persistent_5xx(ladder_server, monkeypatch):
    params = GenerationParams(max_new_tokens=4)
    quick = RetrySettings(backoff_s=0.01, backoff_max_s=0.05)
    flaky = remote(ladder_server, monkeypatch, retry=quick,
                   headers={"X-Ladder-Test-Fault": "status=429;times=2;id=retry-a"})
    g = flaky.generate(CHATS[:1], params)[0]
    assert g.error is None and g.completion_tokens > 0
    down = remote(ladder_server, monkeypatch, retry=quick.model_copy(update={"max_attempts": 3}),
                  headers={"X-Ladder-Test-Fault": "status=503;times=1000;id=retry-b"})
    g = down.generate(CHATS[:1], params)[0]
    assert g.finish_reason == "error" and "HTTP 503" in g.error and "after 3 attempts" in g.error
    bad = remote(ladder_server, monkeypatch, retry=quick,
                 headers={"X-Ladder-Test-Fault": "status=400;times=1000;id=retry-c"})
    assert "after" not in bad.generate(CHATS[:1], params)[0].error  # a 400 is not retried


def test_wrong_key_is_a_401_per_request_and_never_echoed(ladder_server, monkeypatch):
    monkeypatch.setenv("LADDER_TEST_WRONG_KEY", "sk-wrong-QWERTY98765zyx")
    endpoint = Endpoint(name="test", base_url=ladder_server.base_url, api_key_env="LADDER_TEST_WRONG_KEY")
    g = OpenAICompatBackend(endpoint, "smollm2-135m-instruct").generate(CHATS[:1], GenerationParams(max_new_tokens=4))[0]
    assert g.error.startswith("error(401): HTTP 401") and "QWERTY98765" not in g.error


def test_climb_through_the_server_never_records_the_key(ladder_server, tiny_task: Path, tmp_path: Path):
    text = tiny_task.read_text().replace(
        "  backend: local\n", f"  backend: openai\n  endpoint: ladder-serve\n  api_key_env: {ladder_server.key_env}\n")
    assert "backend: openai" in text
    tiny_task.write_text(text)
    runs = tmp_path / "runs"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", ladder_server.key_env: ladder_server.key,
           "LADDER_SERVE_URL": ladder_server.base_url}
    r = subprocess.run([sys.executable, "-m", "ladder.cli", "climb", str(tiny_task), "--runs-dir", str(runs),
                        "--rungs", "zero_shot"], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode in (0, 1), r.stdout[-2000:] + r.stderr[-3000:]  # 1 = target not met
    run_dir = Path(r.stdout.split("run: ")[1].split()[0])
    summary = json.loads((run_dir / "summary.json").read_text())
    (row,) = summary["rungs"]
    assert row["status"] == "ok" and row["prompt_tokens"] > 0 and row["latency_s"] > 0
    # The key: not in the store (db, WAL), the report files, the logs, the server's log.
    needle = ladder_server.key.encode()
    files = [p for p in runs.rglob("*") if p.is_file()] + [ladder_server.log]
    assert any(p.suffix == ".sqlite" for p in files) and any(p.name == "report.html" for p in files)
    leaks = [str(p) for p in files if needle in p.read_bytes()]
    assert not leaks, f"the API key leaked into {leaks}"
    assert ladder_server.key not in r.stdout + r.stderr
