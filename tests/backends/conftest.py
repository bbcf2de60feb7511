"""A scripted chat-completions server on 127.0.0.1 for the tests of remote calls (no model)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest


@pytest.fixture()
def api():
    """The server. `api.script(text, attempt)` (text: the chat's last message; attempt: what the
    client sends in x-stainless-retry-count) says what to answer: ("ok",) or ("ok", delay_s),
    ("status", code, headers), ("hang", seconds) or ("malformed",). `api.log` holds
    (text, attempt, arrival time) of every request; the answer is "re: <text>"."""
    state = SimpleNamespace(script=lambda text, attempt: ("ok",), log=[], lock=threading.Lock(),
                            in_flight=0, most_in_flight=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = body["messages"][-1]["content"]
            attempt = int(self.headers.get("x-stainless-retry-count", "-1"))
            with state.lock:
                state.log.append((text, attempt, time.monotonic()))
                state.in_flight += 1
                state.most_in_flight = max(state.most_in_flight, state.in_flight)
            try:
                self._answer(state.script(text, attempt), text)
            finally:
                with state.lock:
                    state.in_flight -= 1

        def _answer(self, what, text):
            if what[0] == "hang":
                time.sleep(what[1])
                return
            if what[0] == "status":
                payload = json.dumps({"error": {"message": f"scripted {what[1]}", "type": "x"}}).encode()
                self.send_response(what[1])
                for k, v in what[2].items():
                    self.send_header(k, v)
            elif what[0] == "malformed":
                payload = b'{"id": "chatcmpl-1", "choices": [{"mess'
                self.send_response(200)
            else:
                time.sleep(what[1] if len(what) > 1 else 0)
                payload = json.dumps({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "stub-1",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": f"re: {text}"}}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
                }).encode()
                self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield state
    server.shutdown()
    server.server_close()
