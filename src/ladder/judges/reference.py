"""The `reference` judge: is the answer equivalent in meaning to the reference answer?"""

from __future__ import annotations

from ladder.judges.answer import Answer, BooleanJudge
from ladder.judges.base import boolean, judge_chat, text
from ladder.types import Chat


class ReferenceJudge(BooleanJudge):
    kind = "reference"
    key = "equivalent"
    fields = {"equivalent": boolean, "reason": text}

    def chat(self, answer: Answer) -> Chat:
        return judge_chat(
            "Decide whether the answer below says the same as the reference answer to the request: the same facts, "
            "numbers and conclusion. Wording, order and length may differ; an answer that contradicts the reference, "
            "leaves out what it turns on or adds a wrong claim is not equivalent.",
            [("Request", answer.input), ("Reference answer", answer.reference), ("Answer to judge", answer.output)],
            self.kind)
