"""What answered a remote call, and what of it is stored: the real `openai` SDK against a real
HTTP server on 127.0.0.1 that answers chat completions the way a hosted API does (with its
`model` snapshot and `system_fingerprint`), counting the requests it gets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from ladder.backends.endpoints import Endpoint
from ladder.backends.openai_compat import OpenAICompatBackend
from ladder.climb import check_refresh, climb, select_rungs
from ladder.task import load_task
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import Store
from ladder.types import GenerationParams, Message

SNAPSHOT, FINGERPRINT = "stub-model-2026-01-01", "fp_stub_7d3a"
PASSWORD = "pw-Z9x8Q7stubSECRET"


@pytest.fixture()
def api(chat_servers):
    """A chat-completions server answering `answer <n>`, n counting the requests it got."""
    state = SimpleNamespace(requests=0, lock=threading.Lock())

    def respond(body, _headers):
        with state.lock:
            state.requests += 1
            n = state.requests
        words = sum(len(m["content"].split()) for m in body["messages"])
        return 200, chat_servers.completion(f"answer {n}", model=SNAPSHOT, prompt_tokens=words, completion_tokens=2,
                                            system_fingerprint=FINGERPRINT), {}

    state.url = chat_servers.start(respond)
    port = state.url.split(":")[2].split("/")[0]
    state.url_with_credentials = f"http://stubuser:{PASSWORD}@127.0.0.1:{port}/v1"
    return state


def _backend(url: str, revision: str | None = None) -> OpenAICompatBackend:
    return OpenAICompatBackend(Endpoint(name="stub", base_url=url, key_required=False), "stub-alias",
                               revision=revision)


CHATS = [(Message("user", "Say yes."),), (Message("user", "Say no."),)]
PARAMS = GenerationParams(max_new_tokens=4)


def test_the_fingerprint_names_host_model_and_revision_never_credentials(api):
    assert _backend(api.url).fingerprint() == f"openai:{api.url.split('/')[2]}:stub-alias"
    with_revision = _backend(api.url_with_credentials, revision="2026-01-01").fingerprint()
    assert with_revision == f"openai:{api.url.split('/')[2]}:stub-alias@2026-01-01"
    assert PASSWORD not in with_revision and "stubuser" not in with_revision


def test_each_answer_records_what_answered_it_through_the_cache_and_the_store(api, tmp_path):
    store = Store(tmp_path)
    fresh = CachedBackend(_backend(api.url), store).generate(CHATS, PARAMS)
    assert {(g.response_model, g.system_fingerprint) for g in fresh} == {(SNAPSHOT, FINGERPRINT)}
    again = CachedBackend(_backend(api.url), Store(tmp_path)).generate(CHATS, PARAMS)
    assert api.requests == 2 and all(g.cached for g in again)
    assert [(g.text, g.response_model, g.system_fingerprint) for g in again] == \
        [(g.text, g.response_model, g.system_fingerprint) for g in fresh]


def test_a_new_revision_is_a_new_cache_key(api, tmp_path):
    store = Store(tmp_path)
    CachedBackend(_backend(api.url, "2026-01-01"), store).generate(CHATS, PARAMS)
    moved = CachedBackend(_backend(api.url, "2026-02-01"), store)
    moved.generate(CHATS, PARAMS)
    assert api.requests == 4 and (moved.hits, moved.misses) == (0, 2)


def _remote_task(tiny_task: Path, url: str) -> Path:
    text = tiny_task.read_text().replace(
        "  backend: local\n  name: smollm2-135m-instruct\n", f"  backend: openai\n  name: stub-alias\n  base_url: {url}\n")
    assert "backend: openai" in text
    tiny_task.write_text(text)
    return tiny_task


def _cached_answers(store: Store) -> list[str]:
    return sorted(r["text"] for r in store.db.execute("SELECT text FROM call_cache"))


def test_no_cache_asks_without_touching_the_cache_and_refresh_overwrites_a_rungs_answers(api, tiny_task, tmp_path):
    task = load_task(_remote_task(tiny_task, api.url))
    rungs = select_rungs(task, ["zero_shot", "instructed"])
    store = Store(tmp_path / "runs")
    first = climb(task, store, rungs=rungs, all_rungs=True)
    assert (first.cache_misses, first.cache_hits) == (8, 0) and api.requests == 8
    environment = store.run(first.run_id)["environment"]  # what ran, where: recorded with the run
    assert environment["seed"] == task.spec.seed and environment["libraries"]["openai"]
    before = _cached_answers(store)

    unused = climb(task, store, rungs=rungs, all_rungs=True, use_cache=False)
    assert (unused.cache_misses, unused.cache_hits) == (8, 0) and api.requests == 16
    assert _cached_answers(store) == before  # nothing written

    refreshed = climb(task, store, rungs=rungs, all_rungs=True, refresh=["instructed"])
    assert (refreshed.cache_misses, refreshed.cache_hits) == (4, 4) and api.requests == 20
    answers = {r.rung: [g.output for g in store.generations(r.id)] for r in store.rung_results(refreshed.run_id)}
    assert sorted(answers["instructed"]) == [f"answer {n}" for n in range(17, 21)]  # asked again
    assert _cached_answers(store) == sorted(
        [a for a in before if int(a.split()[1]) <= 4] + answers["instructed"])  # its entries overwritten
    generations = store.generations(store.rung_results(refreshed.run_id)[0].id)
    assert {(g.response_model, g.system_fingerprint) for g in generations} == {(SNAPSHOT, FINGERPRINT)}

    with pytest.raises(ValueError, match="few_shot"):
        check_refresh(rungs, ["few_shot"])


def test_credentials_in_base_url_are_never_stored_or_printed(api, tiny_task, tmp_path):
    task = _remote_task(tiny_task, api.url_with_credentials)
    runs = tmp_path / "runs"
    env = {**os.environ, "COLUMNS": "200"}
    r = subprocess.run([sys.executable, "-m", "ladder.cli", "climb", str(task), "--runs-dir", str(runs),
                        "--rungs", "zero_shot"], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode in (0, 1), r.stdout[-2000:] + r.stderr[-3000:]
    assert api.requests == 4  # the calls were made (through the credentials)
    run_dir = Path(r.stdout.split("run: ")[1].split()[0])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["rungs"][0]["status"] == "ok" and api.url.split("/")[2] in summary["run"]["model"]
    files = [p for p in runs.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in files) and any(p.name == "report.md" for p in files)
    leaks = [str(p) for p in files if PASSWORD.encode() in p.read_bytes()]
    assert not leaks, f"the URL's password leaked into {leaks}"
    assert PASSWORD not in r.stdout + r.stderr
