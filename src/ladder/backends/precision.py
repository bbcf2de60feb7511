"""Which precision the local backend may run in: bfloat16 only where it answers like float32.

bfloat16 weights run several times faster on CPUs with AMX or AVX512-BF16, but they change the
logits enough that greedy decoding can pick other tokens: on the balance-shift instructed
prompts only 46-52% of bf16 answers were identical to fp32 ones (bench/generate.py, BENCHMARKS.md).
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
    backend: LocalBackend  # in the chosen precision; its weights are already loaded when measured
    match_rate: float | None  # share of sample answers identical to float32; None when not measured
    sample: int  # prompts in the sample
    reason: str

    @property
    def dtype(self) -> str:
        return self.backend.dtype


def greedy_match_rate(reference: LocalBackend, other: LocalBackend, chats: Sequence[Chat],
                      params: GenerationParams) -> float:
    """Share of `chats` whose greedy answer from `other` is identical to `reference`'s."""
    if not chats:
        raise ValueError("no prompts to compare")
    a, b = reference.generate(chats, params), other.generate(chats, params)
    return sum(x.text == y.text for x, y in zip(a, b)) / len(chats)


def choose_dtype(name: str, requested: str, sample: Sequence[Chat], params: GenerationParams,
                 batch_size: int | None = None) -> PrecisionChoice:
    """Resolve `requested` (float32, bfloat16 or auto) against a measured sample of prompts."""
    fp32 = LocalBackend(name, "float32", batch_size)
    if requested == "float32":
        return PrecisionChoice(fp32, None, 0, "float32 requested")
    if requested == "auto" and not cpu_has_fast_bf16():
        return PrecisionChoice(fp32, None, 0, "this CPU has no fast bfloat16 (AMX or AVX512-BF16)")
    bf16 = LocalBackend(name, "bfloat16", batch_size)
    if not sample:  # nothing to measure: auto keeps the precision whose answers need no measuring
        if requested == "bfloat16":
            return PrecisionChoice(bf16, None, 0, "bfloat16 requested; no sample prompts to measure it on")
        return PrecisionChoice(fp32, None, 0, "auto with no sample prompts to measure bfloat16 on")
    rate = greedy_match_rate(fp32, bf16, sample, params)
    if requested == "bfloat16":
        return PrecisionChoice(bf16, rate, len(sample), "bfloat16 requested")
    if rate >= MATCH_REQUIRED:
        return PrecisionChoice(bf16, rate, len(sample), f"the sample matches float32 (>= {MATCH_REQUIRED:.0%})")
    return PrecisionChoice(fp32, rate, len(sample), f"auto needs >= {MATCH_REQUIRED:.0%} identical answers")
