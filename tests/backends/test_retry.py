"""Retries, waits, timeouts, deadlines and the adaptive concurrency of remote calls, against a
real HTTP server on 127.0.0.1 that answers each request as a script says (the `api` fixture of
conftest.py; no model: fast)."""

from __future__ import annotations

import random
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest

from ladder.backends.endpoints import Endpoint
from ladder.backends.openai_compat import OpenAICompatBackend
from ladder.backends.retry import AdaptiveLimit, RetrySettings, backoff, server_wait, should_retry
from ladder.scoring import error_code
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import Store
from ladder.types import GenerationParams, Message, chat_to_json, content_hash

PARAMS = GenerationParams(max_new_tokens=4)
FAST = RetrySettings(max_attempts=4, timeout_s=2.0, deadline_s=10.0, backoff_s=0.01, backoff_max_s=0.05)


def remote(api, retry=FAST, concurrency=4, seed=0) -> OpenAICompatBackend:
    return OpenAICompatBackend(Endpoint(name="stub", base_url=api.url, key_required=False,
                                        api_key_env="LADDER_TEST_NO_KEY"),
                               "stub", concurrency=concurrency, retry=retry, rng=random.Random(seed))


def chats(*texts: str):
    return [(Message("user", t),) for t in texts]


def attempts(api, text):
    return [t for x, _a, t in api.log if x == text]


# -- plain functions -------------------------------------------------------------------------
def test_which_answers_are_retried():
    assert all(should_retry(s) for s in (408, 409, 429, 500, 502, 503, 504, 529, None))
    assert not any(should_retry(s) for s in (400, 401, 403, 404, 422))
    assert not should_retry(503, {"x-should-retry": "false"})
    assert should_retry(400, {"x-should-retry": "true"})


def test_server_wait_reads_ms_seconds_and_http_dates():
    assert server_wait({"retry-after-ms": "250", "retry-after": "9"}) == 0.25  # ms wins
    assert server_wait({"retry-after": "1.5"}) == 1.5
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    date = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert server_wait({"retry-after": date}, now=now.timestamp()) == pytest.approx(7.0)
    assert server_wait({"retry-after": format_datetime(now - timedelta(seconds=7), usegmt=True)},
                       now=now.timestamp()) == 0.0
    assert server_wait({"retry-after": "soon"}) is None
    assert server_wait({}) is None and server_wait(None) is None


def test_backoff_is_full_jitter_under_the_cap_and_seeded_only_by_the_rng_given():
    s = RetrySettings(backoff_s=0.5, backoff_max_s=4.0)
    waits = [backoff(n, s, random.Random(1)) for n in range(8)]
    assert waits == [backoff(n, s, random.Random(1)) for n in range(8)]
    assert all(0 <= w <= min(4.0, 0.5 * 2**n) for n, w in enumerate(waits))
    many = [backoff(5, s, r) for r in [random.Random(7)] for _ in range(400)]
    assert max(many) > 3.0 and min(many) < 1.0  # spread over [0, cap], not a fixed step


def test_adaptive_limit_halves_once_per_round_and_recovers_additively():
    limit = AdaptiveLimit(16)
    rounds = [limit.acquire() for _ in range(8)]
    for r in rounds:  # eight 429s of requests sent in the same round: one cut
        limit.release(r, rate_limited=True)
    assert limit.limit == 8 and limit.cuts == 1
    r = limit.acquire()
    limit.release(r, rate_limited=True)  # sent after the cut: cuts again
    assert limit.limit == 4 and limit.cuts == 2
    for _ in range(4):
        limit.release(limit.acquire(), rate_limited=False)
    assert 4.9 < limit.limit < 5.1  # about +1 per `limit` successes
    for _ in range(500):
        limit.release(limit.acquire(), rate_limited=False)
    assert limit.limit == 16


# -- against the server --------------------------------------------------------------------
def test_retry_after_is_honoured_in_seconds_and_milliseconds(api):
    api.script = lambda text, attempt: (
        ("status", 429, {"Retry-After": "0.3"}) if text == "s" and attempt == 0 else
        ("status", 503, {"retry-after-ms": "200"}) if text == "ms" and attempt == 0 else ("ok",))
    gens = remote(api).generate(chats("s", "ms"), PARAMS)
    assert [g.text for g in gens] == ["re: s", "re: ms"] and not any(g.error for g in gens)
    s, ms = attempts(api, "s"), attempts(api, "ms")
    assert len(s) == len(ms) == 2
    assert s[1] - s[0] >= 0.3 and ms[1] - ms[0] >= 0.2


def test_x_should_retry_overrides_the_status(api):
    api.script = lambda text, attempt: (("status", 503, {"x-should-retry": "false"}) if text == "no" else
                                        ("status", 400, {"x-should-retry": "true"}) if attempt == 0 else ("ok",))
    no, yes = remote(api).generate(chats("no", "yes"), PARAMS)
    assert error_code(no.error) == "503" and len(attempts(api, "no")) == 1
    assert yes.error is None and len(attempts(api, "yes")) == 2


def test_gives_up_after_max_attempts_with_the_last_code(api):
    api.script = lambda text, attempt: ("status", 500, {})
    (g,) = remote(api).generate(chats("down"), PARAMS)
    assert g.finish_reason == "error" and error_code(g.error) == "500" and "after 4 attempts" in g.error
    assert [a for x, a, _ in api.log] == [0, 1, 2, 3]  # our retries only: the SDK's are off


def test_a_hang_times_out_and_is_retried(api):
    api.script = lambda text, attempt: ("hang", 6.0) if attempt == 0 else ("ok",)
    retry = FAST.model_copy(update={"timeout_s": 0.3})
    backend = remote(api, retry)
    t0 = time.monotonic()
    (g,) = backend.generate(chats("slow"), PARAMS)
    assert g.error is None and g.text == "re: slow"
    assert time.monotonic() - t0 < 5.0  # the hang was abandoned at the timeout, not waited out
    api.script = lambda text, attempt: ("hang", 1.0)
    (g,) = remote(api, retry.model_copy(update={"max_attempts": 2})).generate(chats("stuck"), PARAMS)
    assert error_code(g.error) == "timeout"


def test_the_deadline_bounds_a_call_and_a_long_retry_after_is_not_slept(api):
    api.script = lambda text, attempt: ("status", 429, {"Retry-After": "30"})
    backend = remote(api, FAST.model_copy(update={"deadline_s": 10.0}))
    t0 = time.monotonic()
    (g,) = backend.generate(chats("x"), PARAMS)
    assert time.monotonic() - t0 < 9.0 and len(api.log) == 1
    assert error_code(g.error) == "429" and "deadline" in g.error


def test_malformed_json_is_an_error_not_retried(api):
    api.script = lambda text, attempt: ("malformed",)
    (g,) = remote(api).generate(chats("m"), PARAMS)
    assert g.finish_reason == "error" and error_code(g.error) == "malformed" and len(api.log) == 1


def test_concurrency_is_bounded_and_halves_under_429(api):
    api.script = lambda text, attempt: ("ok", 0.05)
    backend = remote(api, concurrency=4)
    backend.generate(chats(*[f"q{i}" for i in range(24)]), PARAMS)
    assert 2 <= api.most_in_flight <= 4
    api.script = lambda text, attempt: ("status", 429, {"Retry-After": "0.01"}) if attempt == 0 else ("ok", 0.02)
    backend.generate(chats(*[f"r{i}" for i in range(24)]), PARAMS)
    assert backend.limit.cuts >= 1 and backend.limit.limit < 4


def test_each_answer_is_cached_as_it_ends_and_errors_never(api, tmp_path):
    store = Store(tmp_path / "runs")
    api.script = lambda text, attempt: ("status", 400, {}) if text == "bad" else ("ok", 0.3 if text == "late" else 0)
    cached = CachedBackend(remote(api, concurrency=4), store)
    seen_in_cache = []

    def progress(_n):  # by the time a row is reported, it is in the store
        seen_in_cache.append(sum(store.cache_get(k) is not None for k in keys))

    rows = chats("early", "late", "bad")
    model = cached.fingerprint()
    keys = [content_hash(model, chat_to_json(c), PARAMS.key()) for c in rows]
    gens = cached.generate(rows, PARAMS, on_progress=progress)
    assert [error_code(g.error) if g.error else g.text for g in gens] == ["re: early", "re: late", "400"]
    assert seen_in_cache[-2:] == [1, 2]  # the quick answer was committed while the slow call was in flight
    assert store.cache_get(keys[2]) is None  # the error is not cached
    api.log.clear()
    again = CachedBackend(remote(api), store).generate(rows, PARAMS)
    assert [x for x, _a, _t in api.log] == ["bad"]  # only the error row is asked again
    assert again[0].cached and again[1].cached and not again[2].cached


def test_the_cache_key_tells_apart_endpoints_behind_one_host():
    def fp(url, revision=None):
        return OpenAICompatBackend(Endpoint(name="x", base_url=url, key_required=False, api_key_env="LADDER_TEST_NO_KEY"),
                                   "default", revision=revision).fingerprint()

    assert fp("http://gw:8000/v1") == fp("http://gw:8000/v1/") == "openai:gw:8000:default"
    assert fp("http://gw:8000/llama/v1") != fp("http://gw:8000/qwen/v1")
    assert fp("http://u:secret@gw:8000/llama/v1") == "openai:gw:8000/llama/v1:default"
    assert fp("http://gw:8000/v1", "2026-01-01") != fp("http://gw:8000/v1")


def test_stopping_early_starts_no_further_call(api):
    api.script = lambda text, attempt: ("ok", 0.2)
    each = remote(api, concurrency=2).generate_each(chats(*[f"c{i}" for i in range(20)]), PARAMS)
    next(each)
    each.close()  # what Ctrl+C does to the climb's loop
    time.sleep(0.8)
    assert len(api.log) <= 4  # the two in flight when it stopped, at most two more already sent
