"""echo: a backend that answers with the last user message, word for word (no model at all)."""

from __future__ import annotations

from typing import Any, Sequence

from ladder.types import Chat, Generation, GenerationParams


class EchoBackend:
    def __init__(self, spec: Any, **_settings: Any):
        self.name = f"echo:{spec.name}"

    def fingerprint(self, adapter: str | None = None) -> str:
        return self.name

    def count_tokens(self, chat: Chat) -> int:
        return sum(len(m.content.split()) for m in chat)

    def generate(self, chats: Sequence[Chat], params: GenerationParams, adapter: str | None = None,
                 on_progress: Any = None) -> list[Generation]:
        out = []
        for chat in chats:
            text = chat[-1].content
            out.append(Generation(text, self.count_tokens(chat), len(text.split()), 0.0))
        if on_progress:
            on_progress(len(chats))
        return out
