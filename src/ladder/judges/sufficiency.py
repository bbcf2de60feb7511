"""The `sufficiency` judge: does a (possibly right) answer say enough, against the reference?

Its verdicts are the source of the diagnosis's `thin` class when a task configures one
(diagnosis/diagnose.py); without one a length/coverage heuristic stands in, named as such.
"""

from __future__ import annotations

from ladder.judges.answer import Answer, BooleanJudge
from ladder.judges.base import boolean, judge_chat, text
from ladder.types import Chat


class SufficiencyJudge(BooleanJudge):
    kind = "sufficiency"
    key = "sufficient"
    fields = {"sufficient": boolean, "reason": text}

    def chat(self, answer: Answer) -> Chat:
        return judge_chat(
            "Decide whether the answer below says enough. Do not judge whether it is correct; judge only whether it "
            "gives the points a reader needs that the reference answer gives. An answer that is right but leaves out "
            "most of those points (too thin, too short to act on) is not sufficient.",
            [("Request", answer.input), ("Reference answer", answer.reference), ("Answer to judge", answer.output)],
            self.kind)
