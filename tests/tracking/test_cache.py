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


class FailingOn(CountingBackend):
    """The real backend, except that one chat's call fails."""

    def __init__(self, inner, failing):
        super().__init__(inner)
        self.failing = failing

    def generate(self, chats, params, adapter=None, on_progress=None):
        from dataclasses import replace

        answers = super().generate(chats, params, adapter, on_progress)
        return [replace(g, text="", error="HTTPError: 503") if c == self.failing else g for c, g in zip(chats, answers)]


def test_answers_asked_ahead_are_stored_at_once_and_handed_over_fresh(backend, tmp_path):
    chats = [(Message("user", "Say yes."),), (Message("user", "Say no."),), (Message("user", "Say hi."),)]
    params = GenerationParams(max_new_tokens=8)
    counting = FailingOn(backend, chats[2])
    cache = CachedBackend(counting, Store(tmp_path))
    ahead = cache.ask_ahead(chats, params)
    assert counting.calls == 3 and ahead[2].error and not ahead[0].error
    assert cache.ask_ahead(chats[:2], params) == [None, None]  # asked already: not again

    # the later calls, grouped otherwise, get the answers asked ahead as fresh ones, not hits
    got = cache.generate(chats[:1], params) + cache.generate(chats[1:2], params)
    assert [g.text for g in got] == [g.text for g in ahead[:2]] and not any(g.cached for g in got)
    assert counting.calls == 3 and (cache.hits, cache.misses) == (0, 3)
    # a failed call is not handed over: it is asked again
    assert not cache.generate(chats[2:], params)[0].text and counting.calls == 4
    # the answers reached the store when they were asked (a kill after ask_ahead loses none)
    again = CachedBackend(counting, Store(tmp_path)).generate(chats[:2], params)
    assert all(g.cached for g in again) and counting.calls == 4
