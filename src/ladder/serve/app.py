"""`ladder serve`: the local model behind a real OpenAI-compatible HTTP API.

Routes (the OpenAI wire format, as the `openai` SDK sends and reads it):
  GET  /v1/models, /v1/models/{id}        the base model and every fine-tuned model
  POST /v1/chat/completions               usage, finish_reason, system_fingerprint (the weights)
  /v1/files                               files (serve/files.py)
  /v1/fine_tuning/jobs/...                the managed fine-tuning API (serve/finetune.py)
  /v1/batches/...                         the Batch API (serve/batches.py)

Concurrent chat requests are gathered into batches for the model (outputs are identical to one
at a time in fp32). Errors have OpenAI's shape: {"error": {"message", "type", "param", "code"}}.

Security (serve/guard.py): loopback by default; any other address needs --api-key-env, and
then every request needs `Authorization: Bearer <key>`. A request whose Host header is not the
bound host, localhost, 127.0.0.1 or an --allowed-host gets 403 (a web page cannot reach the
server through DNS rebinding), and no CORS header is ever sent (a browser page of another
origin cannot read an answer). Bodies, uploads, max_tokens, n_epochs and the fine-tuning queue
are capped (ServeConfig's max_* fields). An unexpected error answers 500 with a request id only;
the exception is logged with that id. Files, jobs, ft: models and batches persist in SQLite under
--data-dir (serve/state.py).

Test-only switch: when started with `--test-faults`, a request header `X-Ladder-Test-Fault`
makes the server misbehave on purpose so clients can be tested against the real server:
  `content_filter`               answer with finish_reason "content_filter" and no content
  `refusal`                      answer with a `refusal` message
  `status=429;times=2;id=abc`    the first 2 requests carrying id abc get HTTP 429 (any status)
Without `--test-faults` the header is ignored.
"""

import contextlib
import ipaddress
import logging
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ladder.serve.batcher import Batcher
from ladder.types import GenerationParams, Message


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server reachable from this machine only."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ladder" / "serve"


class ServeConfig(BaseModel):
    """Settings of `ladder serve`; each field is a command-line flag of the same name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Address to bind. Anything but loopback (127.0.0.1, ::1, localhost) "
                      "needs --api-key-env.")
    port: int = Field(8321, ge=1, le=65535, description="Port to listen on.")
    model: str = Field("smollm2-135m-instruct", description="Local model to serve (and fine-tune).")
    data_dir: Path | None = Field(
        None, description="Where files, fine-tuning jobs, adapters, ft: model ids and batches are kept (SQLite + "
        "files), across restarts; one server per folder. Default: $XDG_DATA_HOME/ladder/serve "
        "(~/.local/share/ladder/serve).")
    api_key_env: str | None = Field(
        None, description="Require `Authorization: Bearer <key>` with the key held in this environment variable "
        "(needed to bind anything but loopback).")
    allowed_hosts: tuple[str, ...] = Field(
        (), description="More Host header names to accept besides the bound host, localhost and 127.0.0.1 (e.g. this "
        "machine's DNS name when binding 0.0.0.0); any other Host gets 403 (DNS rebinding).")
    batch_size: int = Field(8, gt=0, description="Most chat requests answered in one model batch.")
    max_tokens: int = Field(1024, gt=0, description="Largest max_tokens (or max_completion_tokens) a chat request "
                            "may ask for; more is refused with 400.")
    max_body_bytes: int = Field(1_000_000, gt=0, description="Largest request body, in bytes, except file uploads; "
                                "more is refused with 413.")
    max_upload_bytes: int = Field(100_000_000, gt=0, description="Largest uploaded file, in bytes; more is refused "
                                  "with 413.")
    max_epochs: int = Field(10, gt=0, description="Largest n_epochs a fine-tuning job may ask for.")
    max_training_jobs: int = Field(2, gt=0, description="Most fine-tuning jobs queued or running at once (they "
                                   "train one at a time); more are refused with 429.")
    max_batch_requests: int = Field(50_000, gt=0, description="Most request lines in one batch's input file.")
    rank: int = Field(16, gt=0, description="LoRA rank of fine-tuning jobs.")
    learning_rate: float = Field(1e-3, gt=0, description="Learning rate of fine-tuning jobs (x the job's learning_rate_multiplier).")
    epochs: int = Field(2, gt=0, description="Epochs of a fine-tuning job whose n_epochs is 'auto'.")
    train_batch_size: int = Field(8, gt=0, description="Batch size of a fine-tuning job whose batch_size is 'auto'.")
    max_length: int = Field(512, gt=0, description="Tokens per training example; longer ones are cut.")
    test_faults: bool = Field(False, description="Honour the X-Ladder-Test-Fault header (tests only).")

    @model_validator(mode="after")
    def _key_off_loopback(self) -> "ServeConfig":
        if not is_loopback(self.host) and not self.api_key_env:
            raise ValueError(f"binding {self.host} (not loopback) exposes the model and its files to the network: "
                             "give --api-key-env NAME (the variable holding the key clients must send)")
        if self.epochs > self.max_epochs:
            raise ValueError(f"epochs {self.epochs} is above max_epochs {self.max_epochs}")
        return self

    def resolved_data_dir(self) -> Path:
        return self.data_dir or default_data_dir()


class ApiError(Exception):
    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class ChatRequest(BaseModel):
    """The fields of a chat-completions request that ladder reads; others are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[dict[str, Any]] = Field(min_length=1)
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, gt=0)
    max_completion_tokens: int | None = Field(None, gt=0)
    n: int | None = 1
    stream: bool | None = False
    stop: str | list[str] | None = None


def _messages(raw: list[dict[str, Any]]) -> tuple[Message, ...]:
    out = []
    for i, m in enumerate(raw):
        role = {"developer": "system"}.get(m.get("role"), m.get("role"))
        if role not in ("system", "user", "assistant"):
            raise ApiError(400, f"messages[{i}].role: unsupported role {m.get('role')!r}", param=f"messages[{i}].role")
        content = m.get("content")
        if isinstance(content, list):  # content parts: only text ones
            if any(not isinstance(p, dict) or p.get("type") != "text" for p in content):
                raise ApiError(400, f"messages[{i}].content: only text parts are supported", param=f"messages[{i}].content")
            content = "".join(str(p.get("text", "")) for p in content)
        if content is None and role == "assistant":
            content = ""
        if not isinstance(content, str):
            raise ApiError(400, f"messages[{i}].content must be a string or a list of text parts",
                           param=f"messages[{i}].content")
        out.append(Message(role, content))
    return tuple(out)


class Faults:
    """The test-only fault switch (see the module docstring)."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def check(self, header: str | None) -> str | None:
        """'content_filter' / 'refusal' for those modes; raises ApiError for a status fault."""
        if not header:
            return None
        if header in ("content_filter", "refusal"):
            return header
        parts = dict(p.split("=", 1) for p in header.split(";") if "=" in p)
        status, times, key = int(parts.get("status", 500)), int(parts.get("times", 1)), parts.get("id", "")
        with self._lock:
            self._seen[key] = self._seen.get(key, 0) + 1
            count = self._seen[key]
        if count <= times:
            raise ApiError(status, f"injected fault {count}/{times}", type_="server_error" if status >= 500 else
                           "rate_limit_exceeded" if status == 429 else "invalid_request_error")
        return None


def create_app(config: ServeConfig, backend: Any = None) -> Any:
    """The FastAPI app. `backend` defaults to a LocalBackend for `config.model` (loaded lazily)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    from ladder.backends.local import LocalBackend
    from ladder.serve.batches import Batches
    from ladder.serve.files import files_router
    from ladder.serve.finetune import FineTuning
    from ladder.serve.guard import Guard
    from ladder.serve.state import ServeState

    required_key = os.environ.get(config.api_key_env, "") if config.api_key_env else ""
    if config.api_key_env and not required_key:
        raise ValueError(f"--api-key-env: the environment variable {config.api_key_env} is not set")
    backend = backend or LocalBackend(config.model, batch_size=config.batch_size)
    state = ServeState(config.resolved_data_dir())
    models: dict[str, str | None] = {config.model: None, **state.models()}  # model id -> adapter dir
    finetuning = FineTuning(config, state, models)
    batcher = Batcher(backend, max_batch=config.batch_size)
    faults = Faults()
    created = int(time.time())

    def answer(body: ChatRequest, fault: str | None = None) -> dict[str, Any]:
        """One chat completion in OpenAI's shape; ApiError for what is refused."""
        if body.model not in models:
            raise ApiError(404, f"The model `{body.model}` does not exist", param="model", code="model_not_found")
        if body.stream:
            raise ApiError(400, "stream: streaming is not supported by ladder serve", param="stream")
        if (body.n or 1) != 1:
            raise ApiError(400, "n: only n=1 is supported", param="n")
        if body.stop:
            raise ApiError(400, "stop: stop sequences are not supported by ladder serve", param="stop")
        asked = body.max_completion_tokens or body.max_tokens
        if asked is not None and asked > config.max_tokens:
            param = "max_completion_tokens" if body.max_completion_tokens else "max_tokens"
            raise ApiError(400, f"{param}: at most {config.max_tokens} on this server (--max-tokens) (got {asked})",
                           param=param)
        chat = _messages(body.messages)
        adapter = models[body.model]
        params = GenerationParams(max_new_tokens=asked or min(256, config.max_tokens),
                                  temperature=body.temperature or 0.0)
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        if fault is not None:
            prompt_tokens, completion_tokens = backend.count_tokens(chat), 0
            reason = "content_filter" if fault == "content_filter" else "stop"
            if fault == "refusal":
                message["refusal"] = "I'm sorry, I can't help with that."
        else:
            gen = batcher.submit(chat, params, adapter)
            if gen.error:  # the detail (an exception's text) stays in the log
                raise RuntimeError(f"generation failed: {gen.error}")
            prompt_tokens, completion_tokens, reason = gen.prompt_tokens, gen.completion_tokens, gen.finish_reason
            message["content"] = gen.text
        return {
            "id": f"chatcmpl-{secrets.token_hex(12)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "system_fingerprint": backend.fingerprint(adapter),
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reason}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    def complete(raw: dict[str, Any]) -> dict[str, Any]:
        """A batch line's body, answered as /v1/chat/completions answers it."""
        try:
            body = ChatRequest.model_validate(raw)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ApiError(400, f"{where}: {first['msg']}", param=where or None) from None
        return answer(body)

    batches = Batches(config, state, complete, ApiError)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        yield
        batcher.close()
        finetuning.close()
        batches.close()

    app = FastAPI(title="ladder serve", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.finetuning, app.state.batches, app.state.batcher = finetuning, batches, batcher
    app.state.data_dir, app.state.serve_state = state.data_dir, state

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, e: ApiError) -> JSONResponse:
        headers = {"retry-after": "0"} if e.status == 429 else None
        return JSONResponse(e.body(), status_code=e.status, headers=headers)

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, e: HTTPException) -> JSONResponse:  # 404 route, 405, 413 ...
        err = ApiError(e.status_code, str(e.detail), type_="invalid_request_error")
        return JSONResponse(err.body(), status_code=e.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p != "body")
        return JSONResponse(ApiError(400, f"{where}: {first['msg']}", param=where or None).body(), status_code=400)

    def model_object(model_id: str) -> dict[str, Any]:
        return {"id": model_id, "object": "model", "created": created, "owned_by": "ladder"}

    @app.get("/v1/models")
    def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_object(m) for m in list(models)]}

    @app.get("/v1/models/{model_id:path}")
    def get_model(model_id: str) -> dict[str, Any]:
        if model_id not in models:
            raise ApiError(404, f"The model `{model_id}` does not exist", param="model", code="model_not_found")
        return model_object(model_id)

    @app.post("/v1/chat/completions")
    def chat_completions(body: ChatRequest, request: Request) -> dict[str, Any]:
        fault = faults.check(request.headers.get("x-ladder-test-fault")) if config.test_faults else None
        return answer(body, fault)

    app.include_router(files_router(state, config.max_upload_bytes, ApiError))
    app.include_router(finetuning.router(ApiError))
    app.include_router(batches.router())
    allowed = {config.host.strip("[]").lower(), *LOOPBACK_NAMES, *(h.lower() for h in config.allowed_hosts)}
    app.add_middleware(Guard, allowed_hosts=frozenset(allowed), api_key=required_key or None,
                       max_body_bytes=config.max_body_bytes, max_upload_bytes=config.max_upload_bytes,
                       error_body=lambda status, message, code: ApiError(status, message, code=code,
                                                                         type_="server_error" if status >= 500 else
                                                                         "invalid_request_error").body())
    return app


def serve(config: ServeConfig) -> None:
    """Run the server until interrupted (blocks). Errors' details are logged to stderr."""
    import uvicorn

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("ladder.serve")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    app = create_app(config)
    print(f"ladder serve: http://{config.host}:{config.port}/v1  model {config.model}  "
          f"data {app.state.data_dir}", flush=True)
    # In-flight requests get 5 s on shutdown; generation queued behind them is abandoned.
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning", timeout_graceful_shutdown=5)
