"""Batch execution (`model: {backend: openai, execution: batch}`): a rung's eval through a Batch API.

OpenAI's Batch API (and `ladder serve`'s, which speaks the same wire format) answers a file of
requests within a window at a discount. The flow, for the chats of one `generate` call (the
climb hands a batch backend a rung's whole eval at once):

    requests JSONL, one line per chat: {"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}
    -> upload (files, purpose "batch") -> create the batch -> record its id in the ledger
    -> poll until it ends -> download the output and error files -> map results back by custom_id

The batch is keyed by the content of its requests (the model's fingerprint and the JSONL), and
its id is recorded in the ledger (the run store's `remote_batches`) before the first poll: a
climb killed while a batch runs, started again, builds the same requests, finds the batch and
polls it instead of submitting (and paying for) it again. A request with no result line, or a
result that is an error, becomes a Generation with `error` set (never dropped, never a wrong
answer).

The same requests file is what `vllm run-batch -i requests.jsonl -o results.jsonl --model M`
reads and what it writes back: with `workdir` set, each batch's input, output and error files
are kept there as `<key>.input.jsonl`, `.output.jsonl`, `.errors.jsonl`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence
from urllib.parse import urlparse

from ladder.backends.base import ProgressFn
from ladder.backends.endpoints import url_without_credentials
from ladder.backends.openai_compat import OpenAICompatBackend, redact
from ladder.types import Chat, Generation, GenerationParams, content_hash

TERMINAL = ("completed", "failed", "expired", "cancelled")
CHAT_URL = "/v1/chat/completions"


@dataclass(frozen=True)
class RemoteBatch:
    """One submitted batch as the ledger records it."""

    key: str  # content hash of the model's fingerprint and the requests file
    host: str  # the API's host, without credentials
    model: str
    batch_id: str
    input_file_id: str
    requests: int
    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None


class BatchLedger(Protocol):
    """Where submitted batches are remembered across processes (tracking.store.Store is one)."""

    def remote_batch(self, key: str) -> RemoteBatch | None: ...

    def save_remote_batch(self, batch: RemoteBatch) -> None: ...


class MemoryLedger:
    """A ledger for one process only: a killed climb cannot find its batch again."""

    def __init__(self) -> None:
        self._batches: dict[str, RemoteBatch] = {}

    def remote_batch(self, key: str) -> RemoteBatch | None:
        return self._batches.get(key)

    def save_remote_batch(self, batch: RemoteBatch) -> None:
        self._batches[batch.key] = batch


def request_lines(model: str, chats: Sequence[Chat], params: GenerationParams) -> list[dict[str, Any]]:
    """The Batch API's input lines for `chats`; custom_id is the chat's position."""
    return [{"custom_id": f"request-{i}", "method": "POST", "url": CHAT_URL,
             "body": {"model": model, "messages": [m.to_dict() for m in chat],
                      "temperature": params.temperature, "max_tokens": params.max_new_tokens}}
            for i, chat in enumerate(chats)]


def to_jsonl(lines: Sequence[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n" for line in lines).encode()


class BatchBackend:
    """The Backend protocol over a Batch API; identity, token counts and the client are `live`'s,
    so batch and live answers of one model share the call cache."""

    execution = "batch"

    def __init__(self, live: OpenAICompatBackend, *, discount: float = 0.0, poll_s: float = 10.0,
                 ledger: BatchLedger | None = None, workdir: Path | None = None,
                 on_status: Callable[[str], None] = lambda _m: None):
        self.live = live
        self.name = live.name
        self.discount = discount  # the endpoint's batch discount (0.5: half price); 0 when it lists none
        self.poll_s = poll_s
        self.ledger: BatchLedger = ledger or MemoryLedger()
        self.workdir = workdir
        self.on_status = on_status
        self.submitted: list[str] = []  # batch ids this backend submitted or resumed, in order
        self._reported = 0  # rows of the current batch already passed to on_progress

    def keep_in(self, ledger: BatchLedger, workdir: Path | None = None) -> None:
        """Remember submitted batches in `ledger` (the run store) and keep their files in `workdir`."""
        self.ledger, self.workdir = ledger, workdir

    def __repr__(self) -> str:
        return f"BatchBackend({self.fingerprint()!r})"

    def fingerprint(self, adapter: str | None = None) -> str:
        return self.live.fingerprint(adapter)

    def count_tokens(self, chat: Chat) -> int:
        return self.live.count_tokens(chat)

    @property
    def _client(self) -> Any:
        return self.live._client

    def _redact(self, text: str) -> str:
        return redact(text, *self.live._secrets())

    def generate(self, chats: Sequence[Chat], params: GenerationParams, adapter: str | None = None,
                 on_progress: ProgressFn | None = None) -> list[Generation]:
        if not chats:
            return []
        # `adapter`: a remote fine-tune's model id on this endpoint answers instead of the base
        payload = to_jsonl(request_lines(adapter or self.name, chats, params))
        key = content_hash(self.fingerprint(adapter), payload.decode())
        t0 = time.time()
        try:
            batch = self.ledger.remote_batch(key)
            if batch is None:
                batch = self._submit(key, payload, len(chats))
            else:
                self.on_status(f"batch {batch.batch_id}: found in the store ({batch.status}); polling it, "
                               "not submitting again")
            self.submitted.append(batch.batch_id)
            remote = self._wait(batch, len(chats), on_progress)
            results = self._results(key, remote)
        except Exception as e:  # the whole batch failed to run: every row is an error, none lost
            import openai

            if not isinstance(e, (openai.APIError, OSError, ValueError, KeyError)):
                raise
            error = self._redact(f"batch_error: {type(e).__name__}: {e}")
            return [Generation("", 0, 0, time.time() - t0, "error", error=error) for _ in chats]
        created = getattr(remote, "created_at", None) or t0
        ended = getattr(remote, "completed_at", None) or getattr(remote, "failed_at", None) or time.time()
        latency = max(0.0, float(ended) - float(created))  # what each request waited: the batch's turnaround
        out = [self._generation(results.get(f"request-{i}"), remote, latency) for i in range(len(chats))]
        if on_progress is not None:
            on_progress(max(0, len(chats) - self._reported))
        return out

    # -- steps ----------------------------------------------------------------------------
    def _submit(self, key: str, payload: bytes, n: int) -> RemoteBatch:
        if self.workdir is not None:
            self.workdir.mkdir(parents=True, exist_ok=True)
            (self.workdir / f"{key}.input.jsonl").write_bytes(payload)
        uploaded = self._client.files.create(file=(f"ladder-batch-{key[:12]}.jsonl", payload), purpose="batch")
        created = self._client.batches.create(input_file_id=uploaded.id, endpoint=CHAT_URL,
                                              completion_window="24h", metadata={"ladder_key": key[:32]})
        host = urlparse(url_without_credentials(self.live.base_url)).netloc or self.live.base_url
        batch = RemoteBatch(key=key, host=host, model=self.name, batch_id=created.id, input_file_id=uploaded.id,
                            requests=n, status=created.status)
        self.ledger.save_remote_batch(batch)  # before the first poll: a kill from here on resumes
        self.on_status(f"batch {created.id}: submitted {n} request(s) ({uploaded.id})")
        return batch

    def _wait(self, batch: RemoteBatch, n: int, on_progress: ProgressFn | None) -> Any:
        import openai

        self._reported = 0
        status = batch.status
        while True:
            try:
                remote = self._client.batches.retrieve(batch.batch_id)
            except (openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError,
                    openai.RateLimitError) as e:  # passing trouble: the batch goes on remotely
                self.on_status(self._redact(f"batch {batch.batch_id}: poll failed ({type(e).__name__}); retrying"))
                time.sleep(self.poll_s)
                continue
            counts = getattr(remote, "request_counts", None)
            done = int(getattr(counts, "completed", 0) or 0) + int(getattr(counts, "failed", 0) or 0)
            if on_progress is not None and done > self._reported:
                on_progress(min(done, n) - self._reported)
                self._reported = min(done, n)
            if remote.status != status:
                status = remote.status
                self.on_status(f"batch {batch.batch_id}: {status} ({done}/{n})")
                self.ledger.save_remote_batch(replace(
                    batch, status=status, output_file_id=getattr(remote, "output_file_id", None),
                    error_file_id=getattr(remote, "error_file_id", None)))
            if status in TERMINAL:
                return remote
            time.sleep(self.poll_s)

    def _results(self, key: str, remote: Any) -> dict[str, dict[str, Any]]:
        """Result lines by custom_id, from the output file and then the error file."""
        results: dict[str, dict[str, Any]] = {}
        for kind, file_id in (("output", remote.output_file_id), ("errors", remote.error_file_id)):
            if not file_id:
                continue
            content = self._client.files.content(file_id).read()
            if self.workdir is not None:
                (self.workdir / f"{key}.{kind}.jsonl").write_bytes(content)
            for line in content.decode("utf-8").splitlines():
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    continue  # an unreadable line answers nothing: its request stays without a result
                if isinstance(obj, dict) and isinstance(obj.get("custom_id"), str):
                    results.setdefault(obj["custom_id"], obj)
        return results

    def _generation(self, result: dict[str, Any] | None, remote: Any, latency: float) -> Generation:
        def failed(error: str) -> Generation:
            return Generation("", 0, 0, latency, "error", error=self._redact(error))

        if result is None:
            return failed(f"batch_missing: batch {remote.id} ended {remote.status} without a result for this request")
        if result.get("error"):
            err = result["error"]
            code = err.get("code", "error") if isinstance(err, dict) else "error"
            message = err.get("message", "") if isinstance(err, dict) else str(err)
            return failed(f"batch_{code}: {message}")
        response = result.get("response") or {}
        status, body = response.get("status_code"), response.get("body")
        if status != 200 or not isinstance(body, dict):
            inner = body.get("error", {}) if isinstance(body, dict) else {}
            message = inner.get("message", "") if isinstance(inner, dict) else ""
            return failed(f"HTTP {status}: {message}")
        try:
            import openai.types.chat as chat_types

            completion = chat_types.ChatCompletion.model_validate(body)
        except ValueError as e:
            return failed(f"batch_malformed: the result body is not a chat completion ({type(e).__name__})")
        return self.live._to_generation(completion, latency)
