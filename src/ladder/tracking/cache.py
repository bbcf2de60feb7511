"""Content-hash cache of model calls: an identical call is answered from the store.

The key covers the weights (backend fingerprint, adapter hash), the exact chat and the
generation parameters, so a cached answer is one the model really gave for that input. The
recorded tokens and latency are those of the original call: a cache hit costs nothing, but the
report still shows what the call would cost.
"""

from __future__ import annotations

from typing import Sequence

from ladder.backends.base import Backend, ProgressFn
from ladder.tracking.store import Store
from ladder.types import Chat, Generation, GenerationParams, chat_to_json, content_hash


class CachedBackend:
    def __init__(self, inner: Backend, store: Store):
        self.inner = inner
        self.store = store
        self.name = inner.name
        self.hits = 0
        self.misses = 0

    def fingerprint(self, adapter: str | None = None) -> str:
        return self.inner.fingerprint(adapter)

    def count_tokens(self, chat: Chat) -> int:
        return self.inner.count_tokens(chat)

    def generate(
        self,
        chats: Sequence[Chat],
        params: GenerationParams,
        adapter: str | None = None,
        on_progress: ProgressFn | None = None,
    ) -> list[Generation]:
        model = self.inner.fingerprint(adapter)
        keys = [content_hash(model, chat_to_json(c), params.key()) for c in chats]
        found = {i: g for i, k in enumerate(keys) if (g := self.store.cache_get(k)) is not None}
        self.hits += len(found)
        if on_progress and found:
            on_progress(len(found))
        missing = [i for i in range(len(chats)) if i not in found]
        self.misses += len(missing)
        if missing:
            fresh = self.inner.generate([chats[i] for i in missing], params, adapter, on_progress)
            self.store.cache_put([(keys[i], model, g) for i, g in zip(missing, fresh)])
            found.update(zip(missing, fresh))
        return [found[i] for i in range(len(chats))]
