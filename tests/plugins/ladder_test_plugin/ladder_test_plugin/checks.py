"""word_count: the answer has at most `most_words` words (registered on import by @check)."""

from __future__ import annotations

from pydantic import Field

from ladder.metrics.checks import BaseCheck, check
from ladder.types import Assessment


class WordCount(BaseCheck):
    most_words: int = Field(gt=0, description="most words the answer may have")


@check("word_count", WordCount)
def word_count(output: str, reference: str, spec: WordCount) -> Assessment:
    n = len(output.split())
    return Assessment(spec.name, spec.tag, source_name=spec.kind, passed=n <= spec.most_words,
                      rationale=f"{n} words")
