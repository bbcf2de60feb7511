"""ChatPrompt: the prompt builder every prompt-side rung configures differently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladder.types import Chat, Example, Message


@dataclass(frozen=True)
class ChatPrompt:
    """system prompt (+ instructions) -> demonstration turns -> the example's own turns."""

    system: str | None = None
    instructions: str | None = None
    demos: tuple[Example, ...] = ()

    def render(self, example: Example) -> Chat:
        system = "\n\n".join(p for p in (example.system or self.system, self.instructions) if p)
        messages: list[Message] = [Message("system", system)] if system else []
        for demo in self.demos:
            messages += [Message("user", demo.input), Message("assistant", demo.expected)]
        messages += list(example.history)
        messages.append(Message("user", example.input))
        return tuple(messages)

    def describe(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "instructions": self.instructions,
            "demos": [d.id for d in self.demos],
        }
