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

Token probabilities (a judge's G-Eval scoring) are cached the same way, under keys that name
what was asked (`next_token_probs`, `logprobs`), their JSON kept in the entry's text.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Sequence

from ladder.backends.base import Backend, ProgressFn, can_score, unwrap
from ladder.tracking.store import Store
from ladder.types import AnswerScore, Chat, Generation, GenerationParams, chat_to_json, content_hash


class CachedBackend:
    def __init__(self, inner: Backend, store: Store, *, read: bool = True, write: bool = True):
        self.inner = inner
        self.store = store
        self.read = read
        self.write = write
        self.name = inner.name
        self.hits = 0
        self.misses = 0
        self._ahead: dict[str, Generation] = {}  # answered by ask_ahead, not yet asked for (by key)

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
        ahead = {i: g for i, k in enumerate(keys) if (g := self._ahead.pop(k, None)) is not None}
        found = {i: g for i, k in enumerate(keys)
                 if i not in ahead and self.read and (g := self.store.cache_get(k)) is not None}
        self.hits += len(found)
        found.update(ahead)  # answered for this call, already counted: fresh answers, not cache hits
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

    def ask_ahead(self, chats: Sequence[Chat], params: GenerationParams, adapter: str | None = None,
                  on_progress: ProgressFn | None = None) -> list[Generation | None]:
        """Answer now, in one call of the inner backend, the chats that later generate() calls will
        ask (in any grouping): a local model answers several prompts' rows in one batch faster
        than one batch each (backends/batching.py). The answers are written to the cache at once
        (a kill loses none) and handed to those calls as fresh answers, not as cache hits. Returns
        each chat's answer as asked here, None where the cache or an earlier ask_ahead has it. A
        failed call is not kept: the later call asks again."""
        model = self.inner.fingerprint(adapter)
        keys = [content_hash(model, chat_to_json(c), params.key()) for c in chats]
        wanted: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k not in wanted and k not in self._ahead and not (self.read and self.store.cache_get(k) is not None):
                wanted[k] = i
        out: list[Generation | None] = [None] * len(chats)
        if not wanted:
            return out
        fresh = self.inner.generate([chats[i] for i in wanted.values()], params, adapter, on_progress)
        self.misses += len(wanted)
        if self.write:
            self.store.cache_put([(k, model, g) for k, g in zip(wanted, fresh)])
        for (k, i), g in zip(wanted.items(), fresh):
            out[i] = g
            if g.error is None:
                self._ahead[k] = g
        return out

    def next_token_probs(self, chat: Chat, prefix: str, candidates: Sequence[str]) -> tuple[dict[str, float], Generation]:
        """The inner backend's `next_token_probs` (a local model's), through the cache."""
        model = self.inner.fingerprint(None)
        key = content_hash(model, chat_to_json(chat), {"next_token_probs": list(candidates), "prefix": prefix})
        found = self.store.cache_get(key) if self.read else None
        if found is not None:
            self.hits += 1
            return json.loads(found.text), found
        self.misses += 1
        probs, gen = self.inner.next_token_probs(chat, prefix, candidates)  # type: ignore[attr-defined]
        if self.write:
            self.store.cache_put([(key, model, replace(gen, text=json.dumps(probs)))])
        return probs, gen

    def generate_logprobs(self, chats: Sequence[Chat], params: GenerationParams,
                          top_logprobs: int = 5) -> list[tuple[Generation, list | None]]:
        """The inner backend's `generate_logprobs` (an OpenAI-compatible one's), through the cache:
        each entry keeps the reply and its token log-probabilities."""
        from ladder.backends.openai_compat import TokenLogprobs

        model = self.inner.fingerprint(None)
        keys = [content_hash(model, chat_to_json(c), params.key(), {"logprobs": top_logprobs}) for c in chats]
        out: dict[int, tuple[Generation, list | None]] = {}
        for i, k in enumerate(keys):
            found = self.store.cache_get(k) if self.read else None
            if found is not None:
                blob = json.loads(found.text)
                tokens = None if blob["logprobs"] is None else [TokenLogprobs(t, top) for t, top in blob["logprobs"]]
                out[i] = (replace(found, text=blob["text"]), tokens)
        self.hits += len(out)
        missing = [i for i in range(len(chats)) if i not in out]
        self.misses += len(missing)
        if missing:
            fresh = self.inner.generate_logprobs([chats[i] for i in missing], params, top_logprobs)  # type: ignore[attr-defined]
            if self.write:
                self.store.cache_put([
                    (keys[i], model, replace(g, text=json.dumps(
                        {"text": g.text, "logprobs": None if t is None else [[x.token, x.top] for x in t]})))
                    for i, (g, t) in zip(missing, fresh)])
            out.update(zip(missing, fresh))
        return [out[i] for i in range(len(chats))]

    def answer_scores(self, chats: Sequence[Chat], answers: Sequence[str],
                      adapter: str | None = None) -> list[AnswerScore]:
        """The inner model's AnswerScores, through the same cache: an entry keyed by the chat and
        the answer scored, holding the log-probability as its text (finish_reason "score")."""
        if not can_score(self.inner):
            raise ValueError(f"the model {self.name} cannot score given answers (no log-probabilities of text it "
                             "did not write); generate instead")
        model = self.inner.fingerprint(adapter)
        keys = [content_hash(model, chat_to_json(c), {"score_answer": a}) for c, a in zip(chats, answers)]
        found: dict[int, AnswerScore] = {}
        for i, k in enumerate(keys):
            g = self.store.cache_get(k) if self.read else None
            if g is not None and g.finish_reason == "score":
                found[i] = AnswerScore(float(g.text), g.prompt_tokens, g.latency_s, cached=True)
        self.hits += len(found)
        missing = [i for i in range(len(chats)) if i not in found]
        self.misses += len(missing)
        if missing:
            fresh = unwrap(self.inner).answer_scores(  # type: ignore[attr-defined]
                [chats[i] for i in missing], [answers[i] for i in missing], adapter)
            if self.write:
                self.store.cache_put([(keys[i], model, Generation(repr(s.logprob), s.prompt_tokens, 0, s.latency_s,
                                                                  "score", error=s.error))
                                      for i, s in zip(missing, fresh)])
            found.update(zip(missing, fresh))
        return [found[i] for i in range(len(chats))]
