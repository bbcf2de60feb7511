"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions wire format, whose replies
a test scripts from the request (to play a judge that answers well, badly or with garbage)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from ladder.backends import backend_for
from ladder.judges import JudgeModel, build_judge
from ladder.task.spec import JudgeSpec, PricedModelSpec, PriceSpec
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import RungRecord, Store
from ladder.types import Example, ExampleResult, Generation

PRICES = PriceSpec(input_per_1k=0.5, output_per_1k=1.5)

# A script gets the request's JSON body and returns (HTTP status, raw response body).
Script = Callable[[dict[str, Any]], tuple[int, bytes]]


def completion(content: str, logprobs: list[dict[str, Any]] | None = None) -> tuple[int, bytes]:
    """A well-formed chat completion whose message is `content` (and, if given, its token logprobs)."""
    choice: dict[str, Any] = {"index": 0, "finish_reason": "stop",
                              "message": {"role": "assistant", "content": content}}
    if logprobs is not None:
        choice["logprobs"] = {"content": logprobs}
    body = {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "judge-test",
            "choices": [choice], "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}}
    return 200, json.dumps(body).encode()


def user_text(request: dict[str, Any]) -> str:
    return request["messages"][-1]["content"]


@dataclass
class JudgeServer:
    base_url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: Script = lambda _r: completion("{}")

    reply = staticmethod(completion)
    user_text = staticmethod(user_text)

    def model_spec(self, **extra: Any) -> dict[str, Any]:
        return {"backend": "openai", "name": "judge-test", "base_url": self.base_url, "concurrency": 2, **extra}


@pytest.fixture()
def judge_server(chat_servers):
    """A fresh server per test; its `script` decides every reply, `requests` records every body."""
    state = JudgeServer("")

    def respond(body, _headers):
        state.requests.append(body)
        status, payload = state.script(body)
        return status, payload, {}

    state.base_url = chat_servers.start(respond)
    return state


@pytest.fixture()
def make_judge():
    """make_judge(store, model spec, **judge spec): the judge, asking that model through
    `store`'s call cache at PRICES."""
    def make(store: Store, model: dict[str, Any], **spec: Any) -> Any:
        backend = CachedBackend(backend_for(PricedModelSpec.model_validate(model)), store)
        return build_judge(JudgeSpec.model_validate(spec), JudgeModel(backend, backend.fingerprint(), PRICES))
    return make


@pytest.fixture()
def stored_run():
    """stored_run(store, {rung: [(id, input, output, error[, reference]), ...]}, spec): a run "r1"
    with one ok rung per key (reference default "ref-<id>"); returns rung name -> its stored id."""
    def store_it(store: Store, answers: dict[str, list[tuple[Any, ...]]],
                 spec: dict[str, Any] | None = None) -> dict[str, int]:
        store.start_run("r1", "t", "t.yaml", "h", spec or {}, model="m")
        ids = {}
        for position, (rung, rows) in enumerate(answers.items()):
            results = [ExampleResult(Example(i, q, ref[0] if ref else f"ref-{i}"), "[]",
                                     Generation(out, 10, 5, 0.1, "error" if err else "stop", error=err))
                       for i, q, out, err, *ref in rows]
            ids[rung] = store.add_rung_result(RungRecord("r1", position, rung, "prompt", {}), results)
        return ids
    return store_it
