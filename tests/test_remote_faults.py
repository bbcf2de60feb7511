"""Acceptance: remote evaluation survives faults and kills, and never leaks the key.

A fault-injecting HTTP proxy on 127.0.0.1 speaks the OpenAI wire format in front of a real
`ladder serve` (the real local model, batching, max_tokens 3). For each request it draws, from a
seeded hash of (the row's prompt, the attempt number the client sends in
x-stainless-retry-count), one of: 429 with a Retry-After (30%), 500 (5%), a hang longer than
the per-attempt timeout (2%), malformed JSON (1%), else it forwards the request to `ladder serve`.
So a row's fate is a function of the row alone, and a killed-and-restarted climb must end with
exactly the rows of an uninterrupted one. `ladder climb` runs in subprocesses with a canary key
(`OPENAI_API_KEY=sk-canary-...`, set only in their environment) and debug logging; the key is
then looked for in every log, SQLite file and report.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ladder.scoring import error_code, outcome
from ladder.tracking.store import Store

pytestmark = pytest.mark.slow

CANARY = "sk-canary-" + "7Qm2Xv9LrT4bN8sW1cZk"
ROWS = 40
RETRY_AFTER = (0.05, 0.1, 0.2)
# what each request gets: (share, kind), drawn in this order
FAULTS = ((0.30, "429"), (0.05, "500"), (0.02, "hang"), (0.01, "malformed"))
# the per-attempt timeout must exceed a batch's real latency (else a slow answer is abandoned, asked
# again and completed twice); a hang outlasts it
HANG_S, TIMEOUT_S = 61, 60


class FaultProxy:
    """The proxy. `log` holds one dict per request: row (its prompt), attempt, status it got
    (or hang), arrival and answer times, the Retry-After it was given, and the phase label."""

    def __init__(self, upstream: str, seed: int, log_file: Path):
        self.upstream, self.seed, self.log_file = upstream.rstrip("/"), seed, log_file
        self.log: list[dict] = []
        self.phase = ""
        self.keys_seen: set[bool] = set()  # whether each request carried the canary (the key is never logged)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                proxy._handle(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fate(self, row: str, attempt: int) -> tuple[str, float | None]:
        draw = random.Random(f"{self.seed}|{row}|{attempt}")
        x, acc = draw.random(), 0.0
        for share, kind in FAULTS:
            acc += share
            if x < acc:
                return kind, draw.choice(RETRY_AFTER) if kind == "429" else None
        return "forward", None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        t_in = time.monotonic()
        body = h.rfile.read(int(h.headers["Content-Length"]))
        row = json.loads(body)["messages"][-1]["content"]
        attempt = int(h.headers.get("x-stainless-retry-count", "-1"))
        auth = h.headers.get("Authorization", "")
        kind, wait = self.fate(row, attempt)
        entry = {"phase": self.phase, "row": row, "attempt": attempt, "kind": kind, "t_in": t_in, "retry_after": wait}
        if kind == "hang":
            self._record(entry, status=None, auth=auth)
            time.sleep(HANG_S)
            h.close_connection = True
            return
        headers: dict[str, str] = {"Content-Type": "application/json"}
        if kind == "429":
            status, payload = 429, json.dumps({"error": {"message": "rate limited", "type": "rate_limit"}}).encode()
            headers["Retry-After"] = str(wait)
        elif kind == "500":
            status, payload = 500, json.dumps({"error": {"message": "boom", "type": "server_error"}}).encode()
        elif kind == "malformed":
            status, payload = 200, b'{"id": "chatcmpl-x", "object": "chat.completion", "choi'
        else:
            req = urllib.request.Request(self.upstream + h.path.removeprefix("/v1"), data=body, method="POST",
                                         headers={"Content-Type": "application/json", "Authorization": auth})
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    status, payload = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, payload = e.code, e.read()
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)
        h.wfile.flush()
        self._record(entry, status=status, auth=auth)

    def _record(self, entry: dict, status: int | None, auth: str) -> None:
        entry.update(status=status, t_out=time.monotonic())
        with self._lock:
            self.log.append(entry)
            self.keys_seen.add(auth == f"Bearer {CANARY}")
            with self.log_file.open("a") as f:  # what a proxy operator would log: never the headers
                f.write(json.dumps({k: entry[k] for k in ("phase", "attempt", "kind", "status")}
                                   | {"row": hashlib.sha256(entry["row"].encode()).hexdigest()[:12]}) + "\n")

    def completed(self, phase: str) -> dict[str, int]:
        """Row -> how many requests of `phase` were answered by `ladder serve` (200) in time for
        the client to read them (an answer after its timeout went to a client that had left)."""
        counts: dict[str, int] = {}
        with self._lock:
            for e in self.log:
                if e["phase"] == phase and e["kind"] == "forward" and e["status"] == 200 \
                        and e["t_out"] - e["t_in"] < TIMEOUT_S:
                    counts[e["row"]] = counts.get(e["row"], 0) + 1
        return counts


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`ladder serve` keyed with the canary (the proxy passes the client's Authorization through)."""
    from ladder.serve.launch import running_server

    data = tmp_path_factory.mktemp("canary-serve")
    env = {"OPENAI_API_KEY": CANARY, "LADDER_LOG": "debug", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    log = data / "serve.log"
    with running_server("--api-key-env", "OPENAI_API_KEY", "--batch-size", "8", "--data-dir", str(data),
                        env=env, log=log, headers={"Authorization": f"Bearer {CANARY}"}) as url:
        yield url, data, log


def _task(folder: Path, base_url: str) -> Path:
    (folder / "data").mkdir(parents=True)
    rng = random.Random(5)
    rows = []
    for i in range(ROWS):
        a, b = rng.randint(1, 99), rng.randint(1, 99)
        rows.append({"id": f"sum-{i:03d}", "input": f"Row {i}: what is {a} + {b}? Answer with the number.",
                     "expected": str(a + b)})
    (folder / "data" / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "task.yaml").write_text(f"""
name: sums
model:
  backend: openai
  name: smollm2-135m-instruct
  base_url: {base_url}
  concurrency: 8
  retry: {{max_attempts: 4, timeout_s: {TIMEOUT_S}, deadline_s: 60, backoff_s: 0.02, backoff_max_s: 0.1}}
data:
  eval: data/eval.jsonl
generation:
  max_new_tokens: 3
checks:
  - name: sum
    kind: numeric
    tag: knowledge
    extract: '(-?\\d+)'
target: {{metric: knowledge, value: 0.9}}
rungs:
  zero_shot:
""")
    return folder / "task.yaml"


def _env() -> dict[str, str]:
    # the canary and debug logging live in the children's environment only, never in os.environ
    return {**os.environ, "OPENAI_API_KEY": CANARY, "LADDER_LOG": "debug", "OPENAI_LOG": "debug",
            "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}


def _climb(task: Path, runs: Path, log: Path, *extra: str) -> subprocess.Popen:
    with log.open("ab") as sink:
        return subprocess.Popen([sys.executable, "-m", "ladder.cli", "climb", str(task), "--runs-dir", str(runs),
                                 *extra], env=_env(), stdout=sink, stderr=subprocess.STDOUT, cwd=task.parent)


def _rows(runs: Path) -> dict[str, tuple]:
    """The last run's rows: example -> what was answered and how it scored (not when or whether cached)."""
    with Store(runs) as store:
        run_id = store.runs()[-1]["id"]
        (rung,) = store.rung_results(run_id)
        gens = store.generations(rung.id)
        return {g.example_id: (g.output, g.finish_reason, g.prompt_tokens, g.completion_tokens,
                               None if g.error is None else error_code(g.error), outcome(g, "overall"), g.cached)
                for g in gens}


def test_faults_kill_and_restart_lose_nothing_pay_nothing_twice_and_leak_no_key(served, tmp_path):
    url, serve_dir, serve_log = served
    proxy = FaultProxy(url, seed=13, log_file=tmp_path / "proxy.log")
    try:
        task = _task(tmp_path / "task", proxy.url)
        inputs = {json.loads(line)["input"]: json.loads(line)["id"]
                  for line in (task.parent / "data" / "eval.jsonl").read_text().splitlines()}

        # 1. uninterrupted
        proxy.phase = "A"
        log_a = tmp_path / "climb-a.log"
        assert _climb(task, tmp_path / "runs-a", log_a).wait(timeout=300) in (0, 1), log_a.read_text()[-3000:]
        a = _rows(tmp_path / "runs-a")
        assert len(a) == ROWS  # none lost
        assert all(o in ("pass", "fail") if code is None else o == "error" for *_, code, o, _c in a.values())
        codes = {code for *_, code, _o, _c in a.values() if code is not None}
        assert codes and codes <= {"429", "500", "timeout", "malformed"}, codes
        done = proxy.completed("A")
        assert max(done.values()) == 1  # no row completed twice
        assert {inputs[r] for r in done} == {e for e, row in a.items() if row[4] is None}
        # each 429's Retry-After was waited before that row's next attempt
        log = [e for e in proxy.log if e["phase"] == "A"]
        nxt = {(e["row"], e["attempt"]): e["t_in"] for e in log}
        gaps = [(nxt[(e["row"], e["attempt"] + 1)] - e["t_out"], e["retry_after"])
                for e in log if e["kind"] == "429" and (e["row"], e["attempt"] + 1) in nxt]
        assert len(gaps) > ROWS // 6 and all(gap >= wait for gap, wait in gaps), min(g - w for g, w in gaps)
        assert sum(e["kind"] == "hang" for e in log) >= 1 and sum(e["kind"] == "malformed" for e in log) >= 1

        # 2. the same climb killed with SIGKILL halfway, then started again
        proxy.phase = "B1"
        log_b = tmp_path / "climb-b.log"
        killed = _climb(task, tmp_path / "runs-b", log_b, "--no-report")
        deadline = time.monotonic() + 240
        while len(proxy.completed("B1")) < ROWS // 2 and killed.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert killed.poll() is None, "the climb ended before it could be killed"
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        proxy.phase = "B2"
        assert _climb(task, tmp_path / "runs-b", log_b, "--no-report").wait(timeout=300) in (0, 1), \
            log_b.read_text()[-3000:]
        b = _rows(tmp_path / "runs-b")
        assert {e: row[:-1] for e, row in b.items()} == {e: row[:-1] for e, row in a.items()}
        committed = {e for e, row in b.items() if row[-1]}  # answered from the cache: committed before the kill
        assert ROWS // 4 < len(committed) < ROWS
        again = {inputs[r] for r in proxy.completed("B2")}
        assert not committed & again  # no second paid call for a committed row
        assert max(proxy.completed("B2").values()) == 1

        # 3. the report of the run, through the CLI as a user runs it
        run_a = next(p for p in (tmp_path / "runs-a").iterdir() if p.is_dir())
        log_r = tmp_path / "report.log"
        with log_r.open("wb") as sink:
            assert subprocess.run([sys.executable, "-m", "ladder.cli", "report", str(run_a)], env=_env(),
                                  stdout=sink, stderr=subprocess.STDOUT, timeout=300).returncode == 0
    finally:
        proxy.close()

    # the canary: sent on every request, found nowhere
    assert proxy.keys_seen == {True}
    assert "DEBUG" in log_a.read_text() and "retry" in log_a.read_text()  # debug logging was on
    files = [p for root in (tmp_path, serve_dir) for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in files) and any(p.name == "report.html" for p in files)
    assert serve_log in files and tmp_path / "proxy.log" in files
    leaks = [str(p) for p in files if CANARY.encode() in p.read_bytes()]
    assert not leaks, f"the key leaked into {leaks}"
