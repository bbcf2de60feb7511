"""Shared fixtures: the real default model (loaded once per test session), a scripted
chat-completions server on 127.0.0.1, the tiny task, `ladder serve` in a subprocess."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Mapping

import pytest

ROOT = Path(__file__).resolve().parents[1]
BALANCE = ROOT / "examples" / "balance-shift"


@pytest.fixture(scope="session")
def backend():
    from ladder.backends.local import LocalBackend

    return LocalBackend(batch_size=4)


# What a scripted server answers one request (its JSON body and headers) with: (HTTP status, a
# JSON-able body or raw bytes, extra headers), or None to close the connection without a reply.
Respond = Callable[[dict[str, Any], Mapping[str, str]], "tuple[int, Any, Mapping[str, str]] | None"]


def chat_completion(content: str, model: str = "stub-1", prompt_tokens: int = 3, completion_tokens: int = 2,
                    **extra: Any) -> dict[str, Any]:
    """A well-formed chat completion answering `content` (`extra`: more top-level fields)."""
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}, **extra}


class ChatServers:
    """Real HTTP servers on 127.0.0.1 speaking the OpenAI wire format, each answering as the
    test's `respond` says; all shut down when the test ends."""

    completion = staticmethod(chat_completion)

    def __init__(self) -> None:
        self._servers: list[ThreadingHTTPServer] = []

    def start(self, respond: Respond) -> str:
        """Start one; returns its base URL (`http://127.0.0.1:PORT/v1`)."""
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                answer = respond(body, self.headers)
                if answer is None:
                    return
                status, payload, headers = answer
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1"

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()


@pytest.fixture()
def chat_servers():
    servers = ChatServers()
    yield servers
    servers.close()


@pytest.fixture()
def tiny_task(tmp_path: Path) -> Path:
    """A copy of the balance-shift task cut to 8 train and 4 eval examples."""
    folder = tmp_path / "tiny"
    (folder / "data").mkdir(parents=True)
    for name, n in (("train.jsonl", 8), ("eval.jsonl", 4)):
        lines = (BALANCE / "data" / name).read_text().splitlines()[:n]
        (folder / "data" / name).write_text("\n".join(lines) + "\n")
    text = (BALANCE / "task.yaml").read_text()
    text = text.replace("lora_sft: {epochs: 2, learning_rate: 0.002}", "lora_sft: {epochs: 1, batch_size: 4, rank: 4}")
    text = text.replace("max_new_tokens: 64", "max_new_tokens: 24")
    assert "rank: 4" in text and "max_new_tokens: 24" in text, "the example's task.yaml changed shape"
    (folder / "task.yaml").write_text(text)
    return folder / "task.yaml"


@pytest.fixture
def refused_task(tiny_task: Path) -> tuple[Path, str]:
    """tiny_task answered by an OpenAI-compatible endpoint on a 127.0.0.1 port nothing listens on,
    so every call is refused: (its task.yaml, the endpoint's base_url)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    tiny_task.write_text(tiny_task.read_text().replace(
        "  backend: local\n  name: smollm2-135m-instruct\n",
        f"  backend: openai\n  name: stub\n  base_url: {url}\n"
        "  retry: {max_attempts: 2, backoff_s: 0.01, backoff_max_s: 0.02}\n"))
    assert url in tiny_task.read_text(), "the example's model: block changed shape"
    return tiny_task, url


@pytest.fixture(scope="session")
def ladder_server(tmp_path_factory):
    """`ladder serve` in a subprocess on a free 127.0.0.1 port: key required (a recognisable fake
    one, which tests grep for), test faults on, LoRA rank 4. Always terminated at the end."""
    import os
    from types import SimpleNamespace

    from ladder.serve.launch import running_server

    data = tmp_path_factory.mktemp("serve")
    key, env_name = "sk-ladder-FAKEKEY-7c1e9a42d0b3", "LADDER_TEST_SERVE_KEY"
    env = {env_name: key, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    args = ("--api-key-env", env_name, "--test-faults", "--rank", "4", "--batch-size", "4", "--data-dir", str(data))
    with running_server(*args, env=env, log=data / "server.log", headers={"Authorization": f"Bearer {key}"}) as url:
        yield SimpleNamespace(base_url=url, data_dir=data, key=key, key_env=env_name, log=data / "server.log")


class RunWithAnswers:
    """A real store holding one run, to which tests add rungs' answers, then record verdicts on
    them with the store's own calls (add_assessments, add_comparisons)."""

    def __init__(self, store, run_id: str = "run-1", spec: dict | None = None):
        self.store, self.run_id, self.rung_ids = store, run_id, {}
        store.start_run(run_id, "toy", "toy/task.yaml", "hash", spec or {"name": "toy"}, "tiny-model")

    def rung(self, name: str, checks, tag: str = "knowledge") -> list[int]:
        """One answer per entry of `checks`, to examples e0, e1, ...: True/False is the verdict of a
        tier-1 check of `tag`, None no check, "error" a failed model call. Returns the generation ids."""
        from ladder.tracking.store import RungRecord
        from ladder.types import Assessment, Example, ExampleResult, Generation

        rows = []
        for i, check in enumerate(checks):
            example = Example(id=f"e{i}", input=f"question {i}", expected=f"reference {i}")
            if check == "error":
                gen = Generation(text="", prompt_tokens=5, completion_tokens=0, latency_s=0.0, error="timed out")
                rows.append(ExampleResult(example, "[]", gen))
                continue
            gen = Generation(text=f"{name} answer {i}", prompt_tokens=5, completion_tokens=3, latency_s=0.1)
            assessed = () if check is None else (Assessment("answer", tag, "code", "exact", passed=check),)
            rows.append(ExampleResult(example, "[]", gen, assessed))
        record = RungRecord(self.run_id, len(self.rung_ids), name, "prompt", {"description": name})
        self.rung_ids[name] = self.store.add_rung_result(record, rows)
        return [g.id for g in self.store.generations(self.rung_ids[name])]

    def generations(self) -> dict:
        """Rung -> its stored generations, in climb order."""
        return {name: self.store.generations(rid) for name, rid in self.rung_ids.items()}


@pytest.fixture()
def answers(tmp_path):
    """A RunWithAnswers (run "run-1", a minimal spec) in a fresh store."""
    from ladder.tracking.store import Store

    with Store(tmp_path / "runs") as store:
        yield RunWithAnswers(store)


@pytest.fixture()
def answers_with_spec(tmp_path):
    """Makes a RunWithAnswers (run "run-1") with the given run spec, in a fresh store."""
    from ladder.tracking.store import Store

    with Store(tmp_path / "runs") as store:
        yield lambda spec: RunWithAnswers(store, spec=spec)
