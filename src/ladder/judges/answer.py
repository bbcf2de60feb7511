"""The judges that give a verdict on one answer (rubric, reference, sufficiency): what they share.

Each kind says what it asks (`chat`), which keys its reply has (`fields`) and how a parsed
reply becomes pass/score/reason (`verdict`); `assess` asks, retries and returns one Assessment
per answer in the agreed record (source_kind llm_judge, the judge's prompt and raw reply in
`metadata`, its tokens, money and seconds in `cost`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, Sequence

from ladder.judges.base import Asked, JudgeModel, ask, parse_reply
from ladder.task.spec import JudgeSpec
from ladder.types import Assessment, Chat


@dataclass(frozen=True)
class Answer:
    """One answer to judge: the request, the reference (may be empty) and the answer itself."""

    input: str
    reference: str
    output: str


class AnswerJudge:
    kind: ClassVar[str]
    fields: ClassVar[Mapping[str, Callable[[Any], Any]]]

    def __init__(self, spec: JudgeSpec, model: JudgeModel):
        self.spec, self.model = spec, model
        self.name = spec.name

    def chat(self, answer: Answer) -> Chat:
        raise NotImplementedError

    def verdict(self, parsed: dict[str, Any]) -> tuple[bool, float | None, str]:
        """(passed, score, reason) from a parsed reply."""
        raise NotImplementedError

    def parse(self, reply: str) -> dict[str, Any]:
        return parse_reply(reply, self.fields)

    def assess(self, answers: Sequence[Answer]) -> list[Assessment]:
        """One verdict per answer, in order; a judge_error where none could be read."""
        asked = ask(self.model.call(self.spec), [self.chat(a) for a in answers], self.parse, self.spec.retries)
        return [self.assessment(a) for a in asked]

    def assessment(self, asked: Asked, score: float | None = None, **metadata: Any) -> Assessment:
        """The stored record of one verdict; `score` and `metadata` as a subclass refined them."""
        meta = {**asked.metadata(self.kind, self.model.label), "scoring": "argmax", **metadata}
        common = dict(name=self.name, tag=self.spec.verdict_tag, source_kind="llm_judge", source_name=self.name,
                      cost=asked.cost(self.model.prices), metadata=meta)
        if asked.parsed is None:
            return Assessment(error=asked.error, **common)  # type: ignore[arg-type]
        passed, own_score, reason = self.verdict(asked.parsed)
        return Assessment(passed=passed, score=own_score if score is None else score, rationale=reason,
                          **common)  # type: ignore[arg-type]
