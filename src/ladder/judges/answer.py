"""The judges that give a verdict on one answer (rubric, reference, sufficiency): what they share.

Each kind says what it asks (`chat`), which keys its reply has (`fields`) and how a parsed
reply becomes pass/score/reason (`verdict`); `assess` asks, retries and returns one Assessment
per answer in the agreed record (source_kind llm_judge, the judge's prompt and raw reply in
`metadata`, its tokens, money and seconds in `cost`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, Sequence

from ladder.backends.base import unwrap
from ladder.judges.base import JUDGE_ERROR, TOP_LOGPROBS, Asked, JudgeModel, ask, parse_reply, token_probs_after
from ladder.task.spec import JudgeSpec
from ladder.types import Assessment, Chat, GenerationParams


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


class BooleanJudge(AnswerJudge):
    """A judge whose verdict is one boolean key of its reply (reference: `equivalent`,
    sufficiency: `sufficient`).

    `scoring: logprobs` decides the verdict by the probabilities of `true` and `false` at the
    place the reply writes that key's value (after `{"<key>":`), scored P(true) / (P(true) +
    P(false)) and passing above one half:
    - the local model: one forward pass over the chat and that opening. Nothing is generated, so
      no reply can be unreadable and none carries a reason: what makes a model too small to
      write the JSON object reliably usable as a judge, at the cost of a prompt's prefill;
    - an OpenAI-compatible endpoint: the reply is asked with `logprobs` and the alternatives of
      the value's token are weighed (the written reply still has to parse);
    - a model exposing neither, or a reply without them: the written value, recorded as argmax
      with a `scoring_note` saying why.
    """

    key: ClassVar[str]
    VALUES = ("true", "false")

    def verdict(self, parsed: dict[str, Any]) -> tuple[bool, float | None, str]:
        return parsed[self.key], None, parsed["reason"]

    def assess(self, answers: Sequence[Answer]) -> list[Assessment]:
        if self.spec.scoring == "argmax":
            return super().assess(answers)
        chats = [self.chat(a) for a in answers]
        inner, backend = unwrap(self.model.backend), self.model.backend
        if hasattr(inner, "generate_logprobs"):
            params = GenerationParams(max_new_tokens=self.spec.max_new_tokens)
            asked = ask(lambda cs: backend.generate_logprobs(list(cs), params, TOP_LOGPROBS), chats, self.parse,
                        self.spec.retries)
            return [self._weighed(a, None if a.extra is None else token_probs_after(a.extra, self.key, self.VALUES),
                                  "the endpoint returned no token log-probabilities") for a in asked]
        if not hasattr(inner, "next_token_probs"):
            asked = ask(self.model.call(self.spec), chats, self.parse, self.spec.retries)
            return [self.assessment(a, scoring_note="the judge model exposes no token probabilities") for a in asked]
        out = []
        for chat in chats:  # the value's token follows `{"key":` as " true" / " false", one token each
            spaced, gen = backend.next_token_probs(chat, '{"' + self.key + '":', [f" {v}" for v in self.VALUES])
            asked = Asked(chat, attempts=1)
            asked.add_cost(gen)
            mass = sum(spaced.values())
            if mass <= 0:
                asked.error = f"{JUDGE_ERROR}: neither true nor false has any probability"
                out.append(self.assessment(asked))
                continue
            p_true = spaced[" true"] / mass
            asked.parsed = {self.key: p_true > 0.5, "reason": f"decided by token probabilities: P(true) = {p_true:.3f}"}
            out.append(self.assessment(asked, score=p_true, scoring="logprobs", probability_mass=mass))
        return out

    def _weighed(self, asked: Asked, probs: dict[str, float] | None, why_not: str) -> Assessment:
        """A written reply's verdict replaced by the more probable value, where probabilities came back."""
        mass = None if probs is None else sum(probs.get(v, 0.0) for v in self.VALUES)
        if asked.parsed is None or not mass:
            return self.assessment(asked, **({"scoring_note": why_not} if asked.parsed is not None else {}))
        p_true = probs.get("true", 0.0) / mass  # type: ignore[union-attr]
        written = asked.parsed[self.key]
        asked.parsed = {**asked.parsed, self.key: p_true > 0.5}
        return self.assessment(asked, score=p_true, scoring="logprobs", probability_mass=mass, argmax_verdict=written)
