"""Which precision the local backend may run in: bfloat16 only where it answers like float32.

bfloat16 weights run several times faster on CPUs with AMX or AVX512-BF16, but they change the
logits enough that greedy decoding can pick other tokens: on the balance-shift instructed
prompts only 46-52% of bf16 answers were identical to fp32 ones (bench/generate.py, BENCHMARKS.md).
An eval whose answers depend on the precision measures the precision, not the technique; so
before a climb in bfloat16, ladder generates a sample of eval prompts both ways and reports the
share of identical answers.

`dtype: auto` uses bfloat16 only when the CPU is fast at it and the 95% Wilson lower bound of
the match rate (Wilson 1927) is at least MATCH_LOWER_BOUND: the sample must show that the true
rate is high, not merely be consistent with it (8 of 8 identical answers is consistent with a
true rate of 68%). A perfect sample of n clears the bound when n / (n + z^2) >= MATCH_LOWER_BOUND;
SAMPLE_SIZE is the smallest such n (35 for 0.9), the number of prompts a caller should measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ladder.backends.local import LocalBackend
from ladder.stats import wilson_interval
from ladder.hardware import bf16_pays
from ladder.types import Chat, GenerationParams

MATCH_LOWER_BOUND = 0.9  # the 95% Wilson lower bound of the match rate that auto requires
SAMPLE_SIZE = 35  # smallest n with n/n identical answers clearing MATCH_LOWER_BOUND


@dataclass(frozen=True)
class PrecisionChoice:
    backend: LocalBackend  # in the chosen precision; its weights are already loaded when measured
    match_rate: float | None  # share of sample answers identical to float32; None when not measured
    sample: int  # prompts in the sample
    reason: str

    @property
    def dtype(self) -> str:
        return self.backend.dtype

    @property
    def match_lower_bound(self) -> float | None:
        """95% Wilson lower bound of the true match rate; None when not measured."""
        if self.match_rate is None or self.sample == 0:
            return None
        return match_lower_bound(round(self.match_rate * self.sample), self.sample)


def match_lower_bound(matched: int, sample: int) -> float:
    """95% Wilson lower bound of the share of answers identical to float32."""
    return wilson_interval(matched, sample)[0]


def auto_uses_bfloat16(matched: int, sample: int) -> bool:
    """The `auto` rule: bfloat16 only when the match rate's lower bound reaches MATCH_LOWER_BOUND."""
    return sample > 0 and match_lower_bound(matched, sample) >= MATCH_LOWER_BOUND


def greedy_match_rate(reference: LocalBackend, other: LocalBackend, chats: Sequence[Chat],
                      params: GenerationParams) -> float:
    """Share of `chats` whose greedy answer from `other` is identical to `reference`'s."""
    if not chats:
        raise ValueError("no prompts to compare")
    a, b = reference.generate(chats, params), other.generate(chats, params)
    return sum(x.text == y.text for x, y in zip(a, b)) / len(chats)


def choose_dtype(name: str, requested: str, sample: Sequence[Chat], params: GenerationParams,
                 batch_size: int | None = None, chat_template: str | None = None) -> PrecisionChoice:
    """Resolve `requested` (float32, bfloat16 or auto) against a measured sample of prompts
    (SAMPLE_SIZE of them let `auto` choose bfloat16; fewer never can)."""
    fp32 = LocalBackend(name, "float32", batch_size, chat_template)
    if requested == "float32":
        return PrecisionChoice(fp32, None, 0, "float32 requested")
    if requested == "auto" and not bf16_pays():
        return PrecisionChoice(fp32, None, 0, "bfloat16 is not faster here (no AMX/AVX512-BF16, or measured"
                               " slower than float32: ladder.hardware.bf16_pays)")
    bf16 = LocalBackend(name, "bfloat16", batch_size, chat_template)
    if not sample:  # nothing to measure: auto keeps the precision whose answers need no measuring
        if requested == "bfloat16":
            return PrecisionChoice(bf16, None, 0, "bfloat16 requested; no sample prompts to measure it on")
        return PrecisionChoice(fp32, None, 0, "auto with no sample prompts to measure bfloat16 on")
    rate = greedy_match_rate(fp32, bf16, sample, params)
    matched, n = round(rate * len(sample)), len(sample)
    bound = f"95% lower bound of the match rate {match_lower_bound(matched, n):.1%}"  # printed in every decision
    if requested == "bfloat16":
        return PrecisionChoice(bf16, rate, n, f"bfloat16 requested; {bound}")
    if auto_uses_bfloat16(matched, n):
        return PrecisionChoice(bf16, rate, n, f"{bound} >= {MATCH_LOWER_BOUND:.0%}")
    short = "" if n >= SAMPLE_SIZE else f"; {n} prompts cannot show it, {SAMPLE_SIZE} can"
    return PrecisionChoice(fp32, rate, n, f"{bound} < the {MATCH_LOWER_BOUND:.0%} auto needs{short}")
