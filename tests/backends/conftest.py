"""A scripted chat-completions server on 127.0.0.1 for the tests of remote calls (no model)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest


@pytest.fixture()
def api(chat_servers):
    """The server. `api.script(text, attempt)` (text: the chat's last message; attempt: what the
    client sends in x-stainless-retry-count) says what to answer: ("ok",) or ("ok", delay_s),
    ("status", code, headers), ("hang", seconds) or ("malformed",). `api.log` holds
    (text, attempt, arrival time) of every request; the answer is "re: <text>"."""
    state = SimpleNamespace(script=lambda text, attempt: ("ok",), log=[], lock=threading.Lock(),
                            in_flight=0, most_in_flight=0)

    def respond(body, headers):
        text = body["messages"][-1]["content"]
        attempt = int(headers.get("x-stainless-retry-count", "-1"))
        with state.lock:
            state.log.append((text, attempt, time.monotonic()))
            state.in_flight += 1
            state.most_in_flight = max(state.most_in_flight, state.in_flight)
        try:
            return answer(state.script(text, attempt), text)
        finally:
            with state.lock:
                state.in_flight -= 1

    def answer(what, text):
        if what[0] == "hang":
            time.sleep(what[1])
            return None
        if what[0] == "status":
            return what[1], {"error": {"message": f"scripted {what[1]}", "type": "x"}}, what[2]
        if what[0] == "malformed":
            return 200, b'{"id": "chatcmpl-1", "choices": [{"mess', {}
        time.sleep(what[1] if len(what) > 1 else 0)
        return 200, chat_servers.completion(f"re: {text}"), {}

    state.url = chat_servers.start(respond)
    return state
