"""Content-hash cache of model calls: an identical call is answered from the store.

The key covers the weights (backend fingerprint, adapter hash), the exact chat and the
generation parameters, so a cached answer is one the model really gave for that input. The
recorded tokens and latency are those of the original call: a cache hit costs nothing, but the
report still shows what the call would cost.

`read=False` re-asks every call (a miss), `write=False` leaves the cache as it was: both off is
`ladder climb --no-cache`; `read=False` alone refreshes the answers (`--refresh RUNG`), overwriting
their entries. The key cannot see a remote alias move to a new snapshot unless the task gives a
`model.revision`; re-asking is the way to catch up without one. What answered a remote call is
not part of the key (it is known only after the call): each entry records it
(`response_model`, `system_fingerprint`), and `model.revision` is how a task tells the key.

A backend that hands answers over one by one as its calls end (`generate_each`: the remote one)
has each answer committed the moment it arrives, not when the batch ends: a kill loses only the
calls in flight, and the next climb asks only what is not in the cache. A failed call (an error)
is never cached: the next climb asks it again.
"""

from __future__ import annotations

from typing import Sequence

from ladder.backends.base import Backend, ProgressFn
from ladder.tracking.store import Store
from ladder.types import Chat, Generation, GenerationParams, chat_to_json, content_hash


class CachedBackend:
    def __init__(self, inner: Backend, store: Store, *, read: bool = True, write: bool = True):
        self.inner = inner
        self.store = store
        self.read = read
        self.write = write
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
        found = {i: g for i, k in enumerate(keys) if self.read and (g := self.store.cache_get(k)) is not None}
        self.hits += len(found)
        if on_progress and found:
            on_progress(len(found))
        missing = [i for i in range(len(chats)) if i not in found]
        self.misses += len(missing)
        if missing and hasattr(self.inner, "generate_each"):
            for j, gen in self.inner.generate_each([chats[i] for i in missing], params, adapter):
                if self.write:  # committed now: a kill after this line does not lose it
                    self.store.cache_put([(keys[missing[j]], model, gen)])
                found[missing[j]] = gen
                if on_progress:
                    on_progress(1)
        elif missing:
            fresh = self.inner.generate([chats[i] for i in missing], params, adapter, on_progress)
            if self.write:
                self.store.cache_put([(keys[i], model, g) for i, g in zip(missing, fresh)])
            found.update(zip(missing, fresh))
        return [found[i] for i in range(len(chats))]
