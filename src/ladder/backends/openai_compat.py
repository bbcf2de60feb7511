"""OpenAI-compatible backend: OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp's server, `ladder serve`.

Each chat is one chat-completions request (temperature from the params, 0 = greedy), sent from a
small thread pool. A request that fails (HTTP error, refusal, timeout) becomes a Generation with
`error` set and finish_reason "error"; it never fails the rung. 429 and 5xx answers are retried
with exponential backoff (honouring Retry-After, capped). The API key is read from the
environment variable the task names and never appears in a fingerprint, a Generation, a log
line or an exception message: every text that leaves this module goes through `redact`, which
also masks the password of a base_url such as https://user:password@host/v1.

A remote model is identified by its host, its name and the task's `model.revision`: an alias
(gpt-4o) can move to a new snapshot behind the same name, and only a revision in the cache key
keeps the old answers from being served for the new snapshot. Each answer records what the
server said answered it (the response's `model` and `system_fingerprint`).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Mapping, Sequence
from urllib.parse import urlparse

from ladder.backends.base import ProgressFn
from ladder.backends.endpoints import Endpoint, url_without_credentials
from ladder.types import Chat, Generation, GenerationParams

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
NO_KEY = "no-key"  # sent to servers that need none; the SDK refuses an empty key
_KEY_SHAPES = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{4,}|Bearer\s+\S+)")


@dataclass(frozen=True)
class TokenLogprobs:
    """One reply token and the log-probabilities of the likeliest tokens at its place (itself included)."""

    token: str
    top: dict[str, float]


class MissingKey(ValueError):
    pass


def read_key(endpoint: Endpoint, api_key_env: str | None = None) -> str:
    """The key from the environment; a clear error naming the variable (never a value)."""
    env = api_key_env or endpoint.api_key_env
    key = os.environ.get(env, "")
    if not key and endpoint.key_required:
        raise MissingKey(f"model.api_key_env: the environment variable {env} is not set "
                         f"(endpoint {endpoint.name!r} needs a key)")
    return key or NO_KEY


def redact(text: str, *secrets: str | None) -> str:
    """`text` with the secrets, and anything shaped like a key or bearer token, masked."""
    for secret in secrets:
        if secret and secret != NO_KEY:
            text = text.replace(secret, "***")
    return _KEY_SHAPES.sub("***", text)


def resolve_endpoint(name: str | None, base_url: str | None, api_key_env: str,
                     key_env_given: bool) -> tuple[Endpoint, str]:
    """The endpoint a task's `model:` names and the key variable to use.

    `endpoint: <name>` picks one from endpoints.yaml; a bare `base_url` makes an ad-hoc one
    (a key is then required only when `api_key_env` was given); neither means OpenAI itself.
    An explicit `api_key_env` wins over the endpoint's."""
    from ladder.backends.endpoints import get_endpoint

    if name is None and base_url is not None:
        endpoint = Endpoint(name="custom", base_url=base_url, api_key_env=api_key_env, key_required=key_env_given)
    else:
        endpoint = get_endpoint(name or "openai")
    return endpoint, api_key_env if key_env_given else endpoint.api_key_env


def make_client(endpoint: Endpoint, base_url: str | None = None, api_key_env: str | None = None,
                timeout_s: float = 120.0, headers: Mapping[str, str] | None = None) -> Any:
    """An `openai` SDK client for the endpoint (AzureOpenAI for kind azure). No SDK retries:
    the callers retry themselves so that each failure is seen and bounded."""
    import openai

    key = read_key(endpoint, api_key_env)
    url = base_url or endpoint.resolved_base_url()
    if endpoint.kind == "azure":
        return openai.AzureOpenAI(api_key=key, azure_endpoint=url, api_version=endpoint.api_version,
                                  max_retries=0, timeout=timeout_s, default_headers=dict(headers or {}))
    return openai.OpenAI(api_key=key, base_url=url, max_retries=0, timeout=timeout_s,
                         default_headers=dict(headers or {}))


class OpenAICompatBackend:
    """Chat completions against any OpenAI-compatible base_url, with bounded concurrency."""

    def __init__(self, endpoint: Endpoint, model: str, base_url: str | None = None,
                 api_key_env: str | None = None, concurrency: int = 4, max_retries: int = 4,
                 backoff_s: float = 0.5, timeout_s: float = 120.0, headers: Mapping[str, str] | None = None,
                 revision: str | None = None):
        self.name = model
        self.revision = revision
        self.endpoint = endpoint
        self.base_url = base_url or endpoint.resolved_base_url()
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._key_env = api_key_env or endpoint.api_key_env
        self._client = make_client(endpoint, self.base_url, self._key_env, timeout_s, headers)

    def __repr__(self) -> str:
        return f"OpenAICompatBackend({self.fingerprint()!r})"

    def _secrets(self) -> tuple[str, str | None]:
        return os.environ.get(self._key_env, ""), urlparse(self.base_url).password

    # -- identity -------------------------------------------------------------------------
    def fingerprint(self, adapter: str | None = None) -> str:
        """Host, model and revision: what answers. Never the key, nor a user:password of the URL.
        `adapter` is a remote fine-tune's model id on the same endpoint (rungs/remote_sft.py)."""
        url = url_without_credentials(self.base_url)
        host = urlparse(url).netloc or url
        if adapter is not None:  # a fine-tuned model id names its own snapshot
            return f"openai:{host}:{adapter}"
        return f"openai:{host}:{self.name}" + (f"@{self.revision}" if self.revision else "")

    def count_tokens(self, chat: Chat) -> int:
        """An estimate (~4 characters per token + 4 per message): the remote tokenizer is not
        available here. Real counts come back in each response's `usage`."""
        return sum(4 + (len(m.content) + 3) // 4 for m in chat) + 3

    # -- generation -----------------------------------------------------------------------
    def generate(self, chats: Sequence[Chat], params: GenerationParams, adapter: str | None = None,
                 on_progress: ProgressFn | None = None) -> list[Generation]:
        # `adapter`: a remote fine-tune's model id on this endpoint answers instead of the base
        return [g for g, _ in self._many(chats, params, {}, on_progress, adapter or self.name)]

    def generate_logprobs(self, chats: Sequence[Chat], params: GenerationParams,
                          top_logprobs: int = 5) -> list[tuple[Generation, list[TokenLogprobs] | None]]:
        """Answer each chat asking for the log-probabilities of each reply token and its
        `top_logprobs` alternatives; None beside a Generation when the server returned none
        (many OpenAI-compatible servers ignore the request)."""
        return self._many(chats, params, {"logprobs": True, "top_logprobs": top_logprobs}, None, self.name)

    def _many(self, chats: Sequence[Chat], params: GenerationParams, extra: Mapping[str, Any],
              on_progress: ProgressFn | None, model: str) -> list[tuple[Generation, list[TokenLogprobs] | None]]:
        results: list[tuple[Generation, list[TokenLogprobs] | None] | None] = [None] * len(chats)
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            futures = {pool.submit(self._one, chat, params, extra, model): i for i, chat in enumerate(chats)}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                if on_progress:
                    on_progress(1)
        return [r for r in results if r is not None]

    def _one(self, chat: Chat, params: GenerationParams, extra: Mapping[str, Any],
             model: str) -> tuple[Generation, list[TokenLogprobs] | None]:
        import openai

        t0 = time.perf_counter()
        attempt = 0
        while True:
            try:
                response = self._client.chat.completions.create(
                    model=model,
                    messages=[m.to_dict() for m in chat],
                    temperature=params.temperature,
                    max_tokens=params.max_new_tokens,
                    **extra,
                )
                generation = self._to_generation(response, time.perf_counter() - t0)
                return generation, (_token_logprobs(response) if extra.get("logprobs") else None)
            except openai.APIStatusError as e:
                retry = e.status_code in RETRY_STATUS
                detail = f"HTTP {e.status_code}: {_message(e)}"
                wait = _retry_after(e)
            except (openai.APIConnectionError, openai.APITimeoutError) as e:
                retry, detail, wait = True, f"{type(e).__name__}: {e}", None
            except Exception as e:  # a malformed answer: fail this row, not the rung
                retry, detail, wait = False, f"{type(e).__name__}: {e}", None
            if not retry or attempt >= self.max_retries:
                if retry:
                    detail += f" (after {attempt + 1} attempts)"
                return Generation("", 0, 0, time.perf_counter() - t0, "error",
                                  error=redact(detail, *self._secrets())), None
            time.sleep(min(30.0, wait if wait is not None else self.backoff_s * 2**attempt))
            attempt += 1

    def _to_generation(self, response: Any, latency: float) -> Generation:
        usage = response.usage
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        answered_by = {"response_model": getattr(response, "model", None) or None,
                       "system_fingerprint": getattr(response, "system_fingerprint", None) or None}
        if not response.choices:
            return Generation("", prompt, completion, latency, "error", error="the response has no choices",
                              **answered_by)
        choice = response.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        if refusal:
            return Generation("", prompt, completion, latency, "error",
                              error=redact(f"refusal: {refusal}", *self._secrets()), **answered_by)
        reason = choice.finish_reason or "stop"
        return Generation(text=(choice.message.content or "").strip(), prompt_tokens=prompt,
                          completion_tokens=completion, latency_s=latency, finish_reason=reason, **answered_by)


def _token_logprobs(response: Any) -> list[TokenLogprobs] | None:
    """Each reply token with its top alternatives' log-probabilities, from a chat completion's
    `choices[0].logprobs.content`; None when the server sent none."""
    try:
        content = response.choices[0].logprobs.content
    except (AttributeError, IndexError, TypeError):
        return None
    if not content:
        return None
    return [TokenLogprobs(str(t.token), {str(a.token): float(a.logprob) for a in (t.top_logprobs or ())})
            for t in content]


def _message(e: Any) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(e, "message", "") or e)


def _retry_after(e: Any) -> float | None:
    try:
        value = e.response.headers.get("retry-after")
        return max(0.0, float(value)) if value is not None else None
    except (AttributeError, ValueError, TypeError):
        return None
