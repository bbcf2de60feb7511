"""The Batch API of `ladder serve`: /v1/batches over the local model, in OpenAI's wire format.

A batch's input is an uploaded file (purpose "batch") of JSONL request lines
`{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body": {...chat request...}}`
(the same file `vllm run-batch` reads). Its life cycle is OpenAI's: `validating` (every line is
checked; a bad file fails the batch with `errors` naming the lines) -> `in_progress` (a
background worker answers the lines, `batch_size` at a time, through the same model batcher as
live requests) -> `finalizing` -> `completed`, with an output file of result lines
`{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}` for the
requests answered 200 and an error file for the others; or `cancelling` -> `cancelled` (the
lines answered so far are in the files).

Each answered line is committed to the server's SQLite state as it is answered: a server
restarted mid-batch takes the batch up again and answers only the lines still missing.
"""

import json
import logging
import queue
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from ladder.serve.state import ServeState

CHAT_URL = "/v1/chat/completions"
ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")
log = logging.getLogger("ladder.serve")


def parse_input(content: bytes, max_requests: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(request lines, errors) of a batch input file; errors as OpenAI lists them (code, message, line)."""
    lines: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()

    def bad(lineno: int, code: str, message: str, param: str | None = None) -> None:
        errors.append({"code": code, "message": message, "param": param, "line": lineno})

    for lineno, raw in enumerate(content.decode("utf-8", errors="replace").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            bad(lineno, "invalid_json_line", f"line {lineno} is not valid JSON: {e.msg}")
            continue
        if not isinstance(obj, dict):
            bad(lineno, "invalid_request", f"line {lineno} is not a JSON object")
            continue
        custom_id = obj.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            bad(lineno, "missing_required_parameter", "custom_id: required (a string)", "custom_id")
        elif custom_id in seen:
            bad(lineno, "duplicate_custom_id", f"custom_id {custom_id!r} appears more than once", "custom_id")
        else:
            seen.add(custom_id)
        if obj.get("method") != "POST":
            bad(lineno, "invalid_method", "method: only POST is supported", "method")
        if obj.get("url") != CHAT_URL:
            bad(lineno, "invalid_url", f"url: must be {CHAT_URL} (the batch's endpoint)", "url")
        if not isinstance(obj.get("body"), dict):
            bad(lineno, "missing_required_parameter", "body: required (a JSON object)", "body")
        lines.append({"line": lineno, **obj})
    if not lines and not errors:
        errors.append({"code": "empty_file", "message": "the input file has no request lines", "param": None,
                       "line": None})
    if len(lines) > max_requests:
        errors.append({"code": "too_many_requests", "param": None, "line": None,
                       "message": f"{len(lines)} requests; at most {max_requests} per batch on this server "
                                  "(--max-batch-requests)"})
    return lines, errors


class Batches:
    """Batches and their worker thread. `complete(body)` answers one chat request (the app's
    /v1/chat/completions without HTTP) and raises `api_error` for a request it refuses."""

    def __init__(self, config: Any, state: ServeState, complete: Callable[[dict[str, Any]], dict[str, Any]],
                 api_error: type):
        self.config = config
        self.state = state
        self.complete = complete
        self.api_error = api_error
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closing = False
        for batch in reversed(state.all("batches")):  # oldest first
            if batch["status"] in ACTIVE:
                self._enqueue(batch["id"])

    def _enqueue(self, batch_id: str) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._loop, name="ladder-batches", daemon=True)
                self._worker.start()
        self._queue.put(batch_id)

    def close(self) -> None:
        self._closing = True
        self._queue.put(None)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        batch = {
            "id": f"batch_{secrets.token_hex(12)}", "object": "batch", "endpoint": body["endpoint"], "errors": None,
            "input_file_id": body["input_file_id"], "completion_window": body["completion_window"],
            "status": "validating", "output_file_id": None, "error_file_id": None, "created_at": now,
            "in_progress_at": None, "expires_at": now + 24 * 3600, "finalizing_at": None, "completed_at": None,
            "failed_at": None, "expired_at": None, "cancelling_at": None, "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0}, "metadata": body.get("metadata"),
        }
        self.state.put("batches", batch)
        self._enqueue(batch["id"])
        return batch

    def cancel(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self.state.get("batches", batch_id)
            assert batch is not None
            if batch["status"] in ("validating", "in_progress"):
                batch = self.state.update("batches", batch_id, status="cancelling", cancelling_at=int(time.time()))
            return batch

    # -- the worker -----------------------------------------------------------------------
    def _loop(self) -> None:
        while (batch_id := self._queue.get()) is not None:
            try:
                self._run(batch_id)
            except Exception:  # the detail goes to the log; the batch says only that it failed
                log.exception("batch %s failed", batch_id)
                self.state.update("batches", batch_id, status="failed", failed_at=int(time.time()), errors={
                    "object": "list", "data": [{"code": "server_error", "line": None, "param": None,
                                                "message": f"the batch failed (batch {batch_id}); the server's "
                                                           "log has the detail"}]})

    def _answer(self, line: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        request_id = f"req_{secrets.token_hex(12)}"
        try:
            status, body = 200, self.complete(line["body"])
        except self.api_error as e:
            status, body = e.status, e.body()
        except Exception:
            log.exception("batch request %s (custom_id %r) failed", request_id, line["custom_id"])
            status, body = 500, {"error": {"message": f"internal error (request id {request_id})",
                                           "type": "server_error", "param": None, "code": None}}
        return status == 200, {"id": f"batch_req_{secrets.token_hex(12)}", "custom_id": line["custom_id"],
                               "response": {"status_code": status, "request_id": request_id, "body": body},
                               "error": None}

    def _run(self, batch_id: str) -> None:
        batch = self.state.get("batches", batch_id)
        if batch is None or batch["status"] not in ACTIVE:
            return
        content = self.state.file_path(batch["input_file_id"]).read_bytes()
        lines, errors = parse_input(content, self.config.max_batch_requests)
        if batch["status"] == "validating":
            if errors:
                self.state.update("batches", batch_id, status="failed", failed_at=int(time.time()),
                                  errors={"object": "list", "data": errors})
                return
            batch = self.state.update("batches", batch_id, status="in_progress", in_progress_at=int(time.time()),
                                      request_counts={"total": len(lines), "completed": 0, "failed": 0})
        done = {line for line, _, _ in self.state.batch_results(batch_id)}
        pending = [line for line in lines if line["line"] not in done]
        step = max(1, self.config.batch_size)
        with ThreadPoolExecutor(max_workers=step, thread_name_prefix="ladder-batch") as pool:
            for start in range(0, len(pending), step):
                if self._closing:
                    return  # stopping: the batch stays in progress and is taken up again on restart
                if self.state.get("batches", batch_id)["status"] == "cancelling":
                    break
                chunk = pending[start : start + step]
                answers = list(pool.map(self._answer, chunk))
                self.state.add_batch_results(batch_id, [(line["line"], line["custom_id"], ok, result)
                                                        for line, (ok, result) in zip(chunk, answers)])
                self._count(batch_id, len(lines))
        self._finish(batch_id)

    def _count(self, batch_id: str, total: int) -> dict[str, Any]:
        results = self.state.batch_results(batch_id)
        ok = sum(1 for _, good, _ in results if good)
        return self.state.update("batches", batch_id, request_counts={
            "total": total, "completed": ok, "failed": len(results) - ok})

    def _finish(self, batch_id: str) -> None:
        batch = self.state.get("batches", batch_id)
        cancelled = batch["status"] == "cancelling"
        self._count(batch_id, batch["request_counts"]["total"])  # lines answered before a restart included
        if not cancelled:
            self.state.update("batches", batch_id, status="finalizing", finalizing_at=int(time.time()))
        results = self.state.batch_results(batch_id)
        files: dict[str, str | None] = {"output_file_id": None, "error_file_id": None}
        for key, good, name in (("output_file_id", True, "output"), ("error_file_id", False, "error")):
            chosen = [r for _, ok, r in results if ok is good]
            if chosen or key == "output_file_id":  # OpenAI leaves the error file out when nothing failed
                text = "".join(json.dumps(r) + "\n" for r in chosen)
                files[key] = self.state.add_file(f"{batch_id}_{name}.jsonl", "batch_output", text.encode())["id"]
        now = int(time.time())
        ended = {"status": "cancelled", "cancelled_at": now} if cancelled else {"status": "completed",
                                                                               "completed_at": now}
        self.state.update("batches", batch_id, **files, **ended)

    # -- routes ---------------------------------------------------------------------------
    def router(self) -> Any:
        from fastapi import APIRouter, Request

        from ladder.serve.files import page, read_json_body

        ApiError = self.api_error  # noqa: N806
        r = APIRouter(prefix="/v1")

        def batch_or_404(batch_id: str) -> dict[str, Any]:
            batch = self.state.get("batches", batch_id)
            if batch is None:
                raise ApiError(404, f"No batch found with id '{batch_id}'", param="batch_id")
            return batch

        @r.post("/batches")
        async def create(request: Request) -> dict[str, Any]:
            body = await read_json_body(request, ApiError)
            if not isinstance(body.get("input_file_id"), str):
                raise ApiError(400, "input_file_id: required (a string)", param="input_file_id")
            if body.get("endpoint") != CHAT_URL:
                raise ApiError(400, f"endpoint: only {CHAT_URL} is supported", param="endpoint")
            if body.get("completion_window") != "24h":
                raise ApiError(400, "completion_window: must be '24h'", param="completion_window")
            if body.get("metadata") is not None and not isinstance(body["metadata"], dict):
                raise ApiError(400, "metadata: must be an object", param="metadata")
            f = self.state.get("files", body["input_file_id"])
            if f is None:
                raise ApiError(404, f"input_file_id: no such file: {body['input_file_id']}", param="input_file_id")
            if f["purpose"] != "batch":
                raise ApiError(400, "input_file_id: the file's purpose is not batch", param="input_file_id")
            return self.create(body)

        @r.get("/batches")
        def list_batches(after: str | None = None, limit: int = 20) -> dict[str, Any]:
            return page(self.state.all("batches"), after, limit)

        @r.get("/batches/{batch_id}")
        def get_batch(batch_id: str) -> dict[str, Any]:
            return batch_or_404(batch_id)

        @r.post("/batches/{batch_id}/cancel")
        def cancel(batch_id: str) -> dict[str, Any]:
            batch_or_404(batch_id)
            return self.cancel(batch_id)

        return r
