"""The call cache in front of the real model: a repeated call never reaches the model."""

from __future__ import annotations

import pytest

from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import Store
from ladder.types import GenerationParams, Message

pytestmark = pytest.mark.slow


class CountingBackend:
    """Wraps the real backend and counts the chats it is asked to answer."""

    def __init__(self, inner):
        self.inner, self.name, self.calls = inner, inner.name, 0

    def fingerprint(self, adapter=None):
        return self.inner.fingerprint(adapter)

    def count_tokens(self, chat):
        return self.inner.count_tokens(chat)

    def generate(self, chats, params, adapter=None, on_progress=None):
        self.calls += len(chats)
        return self.inner.generate(chats, params, adapter, on_progress)


def test_second_identical_call_is_answered_from_store(backend, tmp_path):
    counting = CountingBackend(backend)
    chats = [(Message("user", "Say yes."),), (Message("user", "Say no."),)]
    params = GenerationParams(max_new_tokens=8)

    first = CachedBackend(counting, Store(tmp_path)).generate(chats, params)
    assert counting.calls == 2 and not any(g.cached for g in first)

    # A new store object on the same file: the cache persists across processes.
    cached = CachedBackend(counting, Store(tmp_path))
    second = cached.generate(chats + [(Message("user", "Say maybe."),)], params)
    assert counting.calls == 3, "only the new chat may reach the model"
    assert [g.text for g in second[:2]] == [g.text for g in first]
    assert all(g.cached for g in second[:2]) and not second[2].cached
    assert second[0].prompt_tokens == first[0].prompt_tokens
    assert second[0].latency_s == first[0].latency_s  # the original call's cost is kept
    assert (cached.hits, cached.misses) == (2, 1)

    # Other generation parameters are another call.
    CachedBackend(counting, Store(tmp_path)).generate(chats[:1], GenerationParams(max_new_tokens=9))
    assert counting.calls == 4


def test_the_key_says_which_model_answered(backend, tmp_path):
    from ladder.backends.local import LocalBackend

    chats = [(Message("user", "Say yes."),)]
    params = GenerationParams(max_new_tokens=4)
    store = Store(tmp_path)
    full, half = CountingBackend(backend), CountingBackend(LocalBackend(dtype="bfloat16", batch_size=4))
    assert full.fingerprint() != half.fingerprint()
    CachedBackend(full, store).generate(chats, params)
    CachedBackend(half, store).generate(chats, params)  # the same chat asked of other weights
    assert (full.calls, half.calls) == (1, 1), "another model's answer may never be served from the cache"
    again = CachedBackend(half, store).generate(chats, params)
    assert half.calls == 1 and again[0].cached
