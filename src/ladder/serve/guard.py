"""The ASGI layer in front of every route of `ladder serve`: what is refused before a route runs.

In order: a Host header that is not one the server answers to -> 403 (DNS rebinding: a web page
whose name resolves to 127.0.0.1 sends its own name as Host); a missing or wrong bearer key when
the server has one -> 401; a body over its limit -> 413 (the declared Content-Length is checked
first, then the bytes as they arrive). Every response carries `x-request-id`; an unexpected
exception answers 500 naming only that id, and the exception goes to the log with it.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from typing import Any, Awaitable, Callable

from fastapi import HTTPException

log = logging.getLogger("ladder.serve")
UPLOAD_PATH = "/v1/files"
MULTIPART_SLACK = 64 * 1024  # an upload's form fields and boundaries, on top of the file's bytes

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BodyTooLarge(HTTPException):
    """Raised while the body is read; FastAPI passes an HTTPException through its body parsing."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than this server's limit of {limit} bytes")


def host_name(host_header: str) -> str:
    """The name part of a Host header: `[::1]:8321` -> `::1`, `localhost:8321` -> `localhost`."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    def __init__(self, app: Any, *, allowed_hosts: frozenset[str], api_key: str | None, max_body_bytes: int,
                 max_upload_bytes: int, error_body: Callable[[int, str, str | None], dict[str, Any]]):
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.api_key = api_key
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.error_body = error_body

    def limit(self, method: str, path: str) -> int:
        if method == "POST" and path.rstrip("/") == UPLOAD_PATH:
            return self.max_upload_bytes + MULTIPART_SLACK
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req_{secrets.token_hex(12)}"
        scope.setdefault("state", {})["request_id"] = request_id
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        started = False

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", request_id.encode())]}
            await send(message)

        async def refuse(status: int, message: str, code: str | None) -> None:
            body = json.dumps(self.error_body(status, message, code)).encode()
            await send_with_id({"type": "http.response.start", "status": status, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send_with_id({"type": "http.response.body", "body": body})

        if host_name(headers.get("host", "")) not in self.allowed_hosts:
            await refuse(403, "this server does not answer to that Host name (see --allowed-host)", "host_not_allowed")
            return
        if self.api_key is not None:
            given = headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), self.api_key.encode()):
                await refuse(401, "Incorrect API key provided.", "invalid_api_key")
                return
        limit = self.limit(scope["method"], scope["path"])
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await refuse(413, f"the request body is larger than this server's limit of {limit} bytes",
                         "request_too_large")
            return
        received = 0

        async def counted() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counted, send_with_id)
        except Exception:
            log.exception("request %s (%s %s) failed", request_id, scope["method"], scope["path"])
            if not started:
                await refuse(500, f"internal error (request id {request_id}); the server's log has the detail", None)
