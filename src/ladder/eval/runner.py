"""Evaluate a Candidate on examples: prompts -> generations -> tier-1 check assessments.

Calls go to the backend in chunks, and each chunk's answers reach the cache before the next
starts, so an interrupted evaluation resumes where it stopped. Never imports rungs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

from ladder.backends.base import Backend
from ladder.metrics.checks import run_checks
from ladder.types import (Candidate, CheckSpec, Example, ExampleResult, Generation, GenerationParams,
                          chat_to_json)


@dataclass(frozen=True)
class EvalResult:
    results: tuple[ExampleResult, ...]
    seconds: float


def evaluate(
    candidate: Candidate,
    examples: Sequence[Example],
    backend: Backend,
    checks: tuple[CheckSpec, ...],
    params: GenerationParams,
    chunk_size: int = 16,
    on_progress: Callable[[int], None] | None = None,
) -> EvalResult:
    t0 = time.perf_counter()
    chats = [candidate.prompt.render(ex) for ex in examples]
    generations: list[Generation] = []
    for start in range(0, len(chats), chunk_size):
        generations += backend.generate(
            chats[start : start + chunk_size], params, adapter=candidate.adapter, on_progress=on_progress
        )
    results = []
    for ex, chat, gen in zip(examples, chats, generations):
        assessed = () if gen.error else tuple(run_checks(gen.text, ex.expected, checks + ex.checks, ex))
        results.append(ExampleResult(ex, chat_to_json(chat), gen, assessed))
    return EvalResult(tuple(results), time.perf_counter() - t0)
