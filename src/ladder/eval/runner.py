"""Evaluate a Candidate on examples: prompts -> generations -> tier-1 check assessments.

A Candidate that carries its answers (a baseline) is scored on them without a model call:
zero tokens, zero latency, nothing cached. Otherwise calls go to the backend in chunks, and each chunk's
answers reach the cache before the next starts (a remote backend's, each as its call ends:
tracking/cache.py), so an interrupted evaluation resumes where it stopped. Never imports rungs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

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
    if candidate.answers is not None:
        generations = precomputed(candidate.answers, examples)
        if on_progress is not None:
            on_progress(len(generations))
    else:
        for start in range(0, len(chats), chunk_size):
            generations += backend.generate(
                chats[start : start + chunk_size], params, adapter=candidate.adapter, on_progress=on_progress
            )
    results = []
    for ex, chat, gen in zip(examples, chats, generations):
        assessed = () if gen.error else tuple(run_checks(gen.text, ex.expected, checks + ex.checks, ex))
        results.append(ExampleResult(ex, chat_to_json(chat), gen, assessed))
    return EvalResult(tuple(results), time.perf_counter() - t0)


def precomputed(answers: Mapping[str, str], examples: Sequence[Example]) -> list[Generation]:
    """The Candidate's own answers as generations that cost nothing."""
    missing = [ex.id for ex in examples if ex.id not in answers]
    if missing:
        raise ValueError(f"the candidate carries no answer for {len(missing)} eval example(s), e.g. {missing[0]}")
    return [Generation(answers[ex.id], prompt_tokens=0, completion_tokens=0, latency_s=0.0) for ex in examples]
