"""Judges: what a reader (or a stronger model) would say about one answer beyond the checks.

A `Judge` returns Assessments for (input, output, reference), the record every verdict shares:
tag `knowledge` says whether the content is right, tag `sufficiency` whether a right answer says
enough (passed=False: thin). `ThinAnswerHeuristic` is a length/coverage heuristic against the
reference, named as such; it stands in when the task configures no `sufficiency` LLM judge
(ladder.judges), whose stored verdicts the diagnosis then reads instead (diagnose.py). A judge
that says nothing on a tag gives no assessment of it (or one with an error), and the diagnosis
then falls back on the checks.
"""

from __future__ import annotations

import re
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from ladder.types import Assessment

SUFFICIENCY = "sufficiency"  # the tag of "says enough" verdicts; passed=False means a thin answer


class Judge(Protocol):
    name: str

    def judge(self, input: str, output: str, reference: str) -> tuple[Assessment, ...]: ...


# Words that carry no content of their own; leaving them out of the reference's key words
# keeps "the" and "is" from making a thin answer look complete.
STOPWORDS = frozenset("""
a an and are as at be been but by can could did do does for from had has have how i if in into
is it its may might more most no not of on or our shall should so than that the their them then
there these they this those to was we were what when where which while who why will with would
you your yes also very just about over under up out only each other such own same both any all
""".split())
_WORD = re.compile(r"[^\W_]+(?:[.,'][^\W_]+)*", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-cased word and number tokens ("3.14" and "don't" stay whole)."""
    return [w.lower() for w in _WORD.findall(text)]


def key_words(reference: str) -> list[str]:
    """The reference's distinct content words, in order: numbers and non-stopwords of 3+ letters."""
    seen: dict[str, None] = {}
    for w in words(reference):
        if w not in STOPWORDS and (len(w) >= 3 or any(ch.isdigit() for ch in w)):
            seen.setdefault(w, None)
    return list(seen)


class ThinAnswerHeuristic(BaseModel):
    """Thin = much shorter than the reference AND missing most of its key words.

    A heuristic, not a judge of meaning: it cannot tell a wrong answer from a right one, so it
    only speaks on thinness. Replace it with an LLM judge where that matters.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "thin-answer heuristic (length/coverage)"
    max_length_ratio: float = Field(0.5, gt=0, description="thin when output words < this x reference words")
    min_coverage: float = Field(0.6, ge=0, le=1, description="... and it covers less than this share of key words")
    min_reference_words: int = Field(8, ge=1, description="shorter references are never judged")

    def judge(self, input: str, output: str, reference: str) -> tuple[Assessment, ...]:
        ref_words, out_words = words(reference), words(output)
        keys = key_words(reference)
        if len(ref_words) < self.min_reference_words or not keys:
            return (self._assessment(error=f"reference too short to judge ({len(ref_words)} words)"),)
        present = set(out_words)
        covered = [k for k in keys if k in present]
        missing = [k for k in keys if k not in present]
        ratio = len(out_words) / len(ref_words)
        coverage = len(covered) / len(keys)
        thin = ratio < self.max_length_ratio and coverage < self.min_coverage
        evidence = (f"{len(out_words)} words vs {len(ref_words)} in the reference ({ratio:.2f}x); "
                    f"covers {len(covered)} of {len(keys)} reference key words ({coverage:.0%})")
        if thin and missing:
            evidence += "; missing: " + ", ".join(repr(m) for m in missing[:6]) + (" ..." if len(missing) > 6 else "")
        return (self._assessment(passed=not thin, rationale=evidence),)

    def _assessment(self, passed: bool | None = None, rationale: str = "", error: str | None = None) -> Assessment:
        return Assessment("thin answer", SUFFICIENCY, source_kind="code", source_name=self.name, passed=passed,
                          rationale=rationale, error=error)
