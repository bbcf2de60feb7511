"""Which precision the local backend may run in: bfloat16 only where it answers like float32.

bfloat16 weights run several times faster on CPUs with AMX or AVX512-BF16, but they change the
logits enough that greedy decoding can pick other tokens: on the balance-shift instructed
prompts only 46% of bf16 answers were identical to fp32 ones (bench/generate.py, BENCHMARKS.md).
An eval whose answers depend on the precision measures the precision, not the technique; so
before a climb in bfloat16, ladder generates a sample of eval prompts both ways and reports the
share of identical answers. `dtype: auto` uses bfloat16 only when the CPU is fast at it and the
sample matches at least MATCH_REQUIRED.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ladder.backends.local import LocalBackend
from ladder.hardware import cpu_has_fast_bf16
from ladder.types import Chat, GenerationParams

MATCH_REQUIRED = 0.98


@dataclass(frozen=True)
class PrecisionChoice:
    dtype: str  # what the backend will run in
    match_rate: float | None  # share of sample answers identical to float32; None when not measured
    sample: int  # prompts in the sample
    reason: str


def greedy_match_rate(name: str, chats: Sequence[Chat], params: GenerationParams, dtype: str,
                      batch_size: int = 8) -> float:
    """Share of `chats` whose greedy answer in `dtype` is identical to the float32 answer."""
    if not chats:
        raise ValueError("no prompts to compare")
    reference = LocalBackend(name, "float32", batch_size).generate(chats, params)
    other = LocalBackend(name, dtype, batch_size).generate(chats, params)
    return sum(a.text == b.text for a, b in zip(reference, other)) / len(chats)


def choose_dtype(name: str, requested: str, sample: Sequence[Chat], params: GenerationParams,
                 batch_size: int = 8) -> PrecisionChoice:
    """Resolve `requested` (float32, bfloat16 or auto) against a measured sample of prompts."""
    if requested == "float32":
        return PrecisionChoice("float32", None, 0, "float32 requested")
    if requested == "auto" and not cpu_has_fast_bf16():
        return PrecisionChoice("float32", None, 0, "this CPU has no fast bfloat16 (AMX or AVX512-BF16)")
    rate = greedy_match_rate(name, sample, params, "bfloat16", batch_size)
    if requested == "bfloat16":
        return PrecisionChoice("bfloat16", rate, len(sample), "bfloat16 requested")
    if rate >= MATCH_REQUIRED:
        return PrecisionChoice("bfloat16", rate, len(sample), f"the sample matches float32 (>= {MATCH_REQUIRED:.0%})")
    return PrecisionChoice("float32", rate, len(sample), f"auto needs >= {MATCH_REQUIRED:.0%} identical answers")
