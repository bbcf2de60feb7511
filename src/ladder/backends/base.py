"""The one interface every model backend speaks."""

from __future__ import annotations

from typing import Callable, Protocol, Sequence

from ladder.types import AnswerScore, Chat, Generation, GenerationParams

ProgressFn = Callable[[int], None]  # called with the number of rows just finished


class Backend(Protocol):
    name: str

    def fingerprint(self, adapter: str | None = None) -> str:
        """Identity of the weights that answer (model file hash, adapter hash): a cache key part."""
        ...

    def generate(
        self,
        chats: Sequence[Chat],
        params: GenerationParams,
        adapter: str | None = None,
        on_progress: ProgressFn | None = None,
    ) -> list[Generation]:
        """Answer each chat. One Generation per chat, in order; a failed call is a Generation
        with `error` set and finish_reason "error", never an exception for the whole batch."""
        ...

    def count_tokens(self, chat: Chat) -> int:
        """Prompt tokens this chat costs (chat template included)."""
        ...


def answers_each(backend: Backend) -> bool:
    """Whether the backend (under its wrappers) can hand each answer over as its call ends: a
    `generate_each(chats, params, adapter)` iterator of (index, Generation) in finishing order,
    which the call cache commits one by one. Remote backends do; a local model answers in batches."""
    return hasattr(unwrap(backend), "generate_each")


class AnswerScorer(Protocol):
    """A backend that can also say how likely a given answer is (the local model does; a remote
    chat API gives no log-probabilities of text it did not write)."""

    def answer_scores(self, chats: Sequence[Chat], answers: Sequence[str],
                      adapter: str | None = None) -> list[AnswerScore]:
        """One AnswerScore per (chat, answer), in order; a failed row has `error` set."""
        ...


def can_score(backend: Backend) -> bool:
    """Whether the model under any wrappers scores answers (AnswerScorer)."""
    return callable(getattr(unwrap(backend), "answer_scores", None))


def unwrap(backend: Backend) -> Backend:
    """The backend underneath wrappers (cache, rate limiter) that keep theirs in `.inner`."""
    while hasattr(backend, "inner"):
        backend = backend.inner  # type: ignore[attr-defined]
    return backend
