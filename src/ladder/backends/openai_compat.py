"""OpenAI-compatible backend: OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp's server, `ladder serve`.

Each chat is one chat-completions request (temperature from the params, 0 = greedy). The calls
of a batch run on a thread pool, at most `AdaptiveLimit` of them in flight to the endpoint
(halved on a 429, recovering slowly), each retried, timed out and bounded by a deadline as the
model's `retry:` settings say (backends/retry.py); the SDK's own retries are off (max_retries=0),
so ours are the only ones. `generate_each` hands each answer over the moment its call ends, so
the call cache commits it at once. A call that still fails becomes a Generation with
finish_reason "error" and `error` = "error(<code>): <detail>", code one of the HTTP status,
timeout, connection, malformed, refusal, no_choices: the row is counted as an error, never as a
wrong answer, and it never fails the rung. The API key is read from the
environment variable the task names and never appears in a fingerprint, a Generation, a log
line or an exception message: every text that leaves this module goes through `redact`, which
also masks the password of a base_url such as https://user:password@host/v1.

A remote model is identified by its host, its name and the task's `model.revision`: an alias
(gpt-4o) can move to a new snapshot behind the same name, and only a revision in the cache key
keeps the old answers from being served for the new snapshot. Each answer records what the
server said answered it (the response's `model` and `system_fingerprint`).
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import urlparse

from ladder.backends.base import ProgressFn
from ladder.backends.endpoints import Endpoint, url_without_credentials
from ladder.backends.retry import AdaptiveLimit, RetrySettings, backoff, server_wait, should_retry
from ladder.types import Chat, Generation, GenerationParams

log = logging.getLogger(__name__)
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
    """Chat completions against any OpenAI-compatible base_url: per-endpoint adaptive concurrency,
    retries, timeouts and deadlines as `retry` says (backends/retry.py)."""

    def __init__(self, endpoint: Endpoint, model: str, base_url: str | None = None,
                 api_key_env: str | None = None, concurrency: int = 4, retry: RetrySettings = RetrySettings(),
                 headers: Mapping[str, str] | None = None, revision: str | None = None,
                 rng: random.Random | None = None):
        self.name = model
        self.revision = revision
        self.endpoint = endpoint
        self.base_url = base_url or endpoint.resolved_base_url()
        self.retry = retry
        self.limit = AdaptiveLimit(concurrency)
        self._rng = rng or random.Random()  # the jitter's source; a test passes a seeded one
        self._key_env = api_key_env or endpoint.api_key_env
        # max_retries=0 inside: the retries are ours (below), so each failure is seen and bounded
        self._client = make_client(endpoint, self.base_url, self._key_env, retry.timeout_s, headers)

    def __repr__(self) -> str:
        return f"OpenAICompatBackend({self.fingerprint()!r})"

    def _secrets(self) -> tuple[str, str | None]:
        return os.environ.get(self._key_env, ""), urlparse(self.base_url).password

    # -- identity -------------------------------------------------------------------------
    def fingerprint(self, adapter: str | None = None) -> str:
        """Host (with the URL's path when it is not /v1), model and revision: what answers, and the
        call cache's key for it. Never the key, nor a user:password of the URL. `adapter` is a
        remote fine-tune's model id on the same endpoint (rungs/remote_sft.py)."""
        url = urlparse(url_without_credentials(self.base_url))
        where = url.netloc or url.path
        path = url.path.rstrip("/")
        if url.netloc and path not in ("", "/v1"):  # a gateway routing by path serves other models per path
            where += path
        if adapter is not None:  # a fine-tuned model id names its own snapshot
            return f"openai:{where}:{adapter}"
        return f"openai:{where}:{self.name}" + (f"@{self.revision}" if self.revision else "")

    def count_tokens(self, chat: Chat) -> int:
        """An estimate (~4 characters per token + 4 per message): the remote tokenizer is not
        available here. Real counts come back in each response's `usage`."""
        return sum(4 + (len(m.content) + 3) // 4 for m in chat) + 3

    # -- generation -----------------------------------------------------------------------
    def generate(self, chats: Sequence[Chat], params: GenerationParams, adapter: str | None = None,
                 on_progress: ProgressFn | None = None) -> list[Generation]:
        results: list[Generation | None] = [None] * len(chats)
        for i, gen in self.generate_each(chats, params, adapter):
            results[i] = gen
            if on_progress:
                on_progress(1)
        return [r for r in results if r is not None]

    def generate_each(self, chats: Sequence[Chat], params: GenerationParams,
                      adapter: str | None = None) -> Iterator[tuple[int, Generation]]:
        """(index, Generation) of each chat as its call finishes, in finishing order, so the
        caller can commit each answer at once (a kill then loses only the calls in flight).
        `adapter`: a remote fine-tune's model id on this endpoint answers instead of the base."""
        for i, (gen, _) in self._each(chats, params, {}, adapter or self.name):
            yield i, gen

    def generate_logprobs(self, chats: Sequence[Chat], params: GenerationParams,
                          top_logprobs: int = 5) -> list[tuple[Generation, list[TokenLogprobs] | None]]:
        """Answer each chat asking for the log-probabilities of each reply token and its
        `top_logprobs` alternatives; None beside a Generation when the server returned none
        (many OpenAI-compatible servers ignore the request)."""
        results: list[tuple[Generation, list[TokenLogprobs] | None] | None] = [None] * len(chats)
        for i, answer in self._each(chats, params, {"logprobs": True, "top_logprobs": top_logprobs}, self.name):
            results[i] = answer
        return [r for r in results if r is not None]

    def _each(self, chats: Sequence[Chat], params: GenerationParams, extra: Mapping[str, Any],
              model: str) -> Iterator[tuple[int, tuple[Generation, list[TokenLogprobs] | None]]]:
        pool = ThreadPoolExecutor(max_workers=self.limit.maximum, thread_name_prefix="ladder-remote")
        stop = threading.Event()
        try:
            futures = {pool.submit(self._one, chat, params, stop, extra, model): i for i, chat in enumerate(chats)}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            # Ctrl+C or an abandoned iterator: start no queued call and no further attempt or wait;
            # a request in flight ends within its timeout, and its answer is dropped
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)

    def _one(self, chat: Chat, params: GenerationParams, stop: threading.Event, extra: Mapping[str, Any],
             model: str) -> tuple[Generation, list[TokenLogprobs] | None]:
        # The deadline counts what this call spends, its attempts and its waits, not the time it
        # queues for a slot of the endpoint's limit (that is the other calls' time): so whether a
        # call succeeds does not depend on how busy the rest of the batch keeps the endpoint.
        spent = 0.0
        first_sent: float | None = None
        attempt = 0
        while True:
            sent_in = self.limit.acquire()
            started = time.monotonic()
            first_sent = first_sent or started
            if stop.is_set():
                self.limit.release(sent_in, rate_limited=False)
                return Generation("", 0, 0, 0.0, "error", error="error(cancelled): the caller stopped"), None
            timeout = min(self.retry.timeout_s, max(self.retry.deadline_s - spent, 0.001))
            outcome = self._attempt(chat, params, attempt, timeout, first_sent, extra, model)
            self.limit.release(sent_in, rate_limited=outcome.status == 429)
            spent += time.monotonic() - started
            if outcome.generation is not None:
                return outcome.generation, outcome.logprobs
            attempt += 1
            wait = outcome.wait if outcome.wait is not None else backoff(attempt - 1, self.retry, self._rng)
            why = None
            if not outcome.retry:
                why = ""
            elif attempt >= self.retry.max_attempts:
                why = f" (gave up after {attempt} attempts)"
            elif spent + wait >= self.retry.deadline_s:
                why = (f" (gave up after {attempt} attempts: the next one, in {wait:.2f}s, would pass the "
                       f"{self.retry.deadline_s:g}s deadline)")
            if why is not None:
                return Generation("", 0, 0, time.monotonic() - first_sent, "error",
                                  error=redact(f"error({outcome.code}): {outcome.detail}{why}", *self._secrets())), None
            log.debug("retry %d of a call to %s in %.3fs after %s", attempt, model, wait, outcome.code)
            stop.wait(wait)
            spent += wait

    def _attempt(self, chat: Chat, params: GenerationParams, attempt: int, timeout: float, t0: float,
                 extra: Mapping[str, Any], model: str) -> "_Attempt":
        """One request: an answer (a Generation, possibly a refusal) or what went wrong."""
        import openai

        try:
            response = self._client.chat.completions.create(
                model=model,
                messages=[m.to_dict() for m in chat],
                temperature=params.temperature,
                max_tokens=params.max_new_tokens,
                timeout=timeout,
                # the SDK's own header for "how many retries before this one", filled with ours
                extra_headers={"x-stainless-retry-count": str(attempt)},
                **extra,
            )
        except openai.APITimeoutError:
            return _Attempt(code="timeout", detail=f"no answer within {timeout:.3g}s", retry=True)
        except openai.APIConnectionError as e:
            # which server did not answer: the SDK's message does not say (credentials left out)
            where = url_without_credentials(str(self._client.base_url))
            return _Attempt(code="connection", detail=f"{type(e).__name__}: {e} ({where})", retry=True)
        except openai.APIStatusError as e:
            headers = e.response.headers
            return _Attempt(code=str(e.status_code), detail=f"HTTP {e.status_code}: {_message(e)}",
                            retry=should_retry(e.status_code, headers), wait=server_wait(headers),
                            status=e.status_code)
        except (ValueError, openai.APIResponseValidationError) as e:  # a body that is not the JSON promised
            return _Attempt(code="malformed", detail=f"unreadable response: {type(e).__name__}", retry=False)
        if isinstance(response, str) or getattr(response, "choices", None) is None:
            return _Attempt(code="malformed", detail="the response is not a chat completion", retry=False)
        return _Attempt(generation=self._to_generation(response, time.monotonic() - t0),
                        logprobs=_token_logprobs(response) if extra.get("logprobs") else None)

    def _to_generation(self, response: Any, latency: float) -> Generation:
        usage = response.usage
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        answered_by = {"response_model": getattr(response, "model", None) or None,
                       "system_fingerprint": getattr(response, "system_fingerprint", None) or None}
        if not response.choices:
            return Generation("", prompt, completion, latency, "error",
                              error="error(no_choices): the response has no choices", **answered_by)
        choice = response.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        if refusal:
            return Generation("", prompt, completion, latency, "error",
                              error=redact(f"error(refusal): {refusal}", *self._secrets()), **answered_by)
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


@dataclass(frozen=True)
class _Attempt:
    """What one request came to: an answer, or a failure with its code and whether to retry."""

    generation: Generation | None = None
    logprobs: list[TokenLogprobs] | None = None  # with `logprobs` asked, what the server sent
    code: str = ""  # 429, 500, timeout, connection, malformed, ...: the row's error(code)
    detail: str = ""
    retry: bool = False
    wait: float | None = None  # what the server asked for; None: our backoff
    status: int | None = None


def _message(e: Any) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(e, "message", "") or e)
