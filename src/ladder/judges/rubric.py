"""The `rubric` judge: criteria text -> a 1-5 score, pass/fail and a reason.

`scoring: argmax` keeps the score the judge wrote. `scoring: logprobs` (G-Eval style) replaces
it with the probability-weighted mean of the score tokens 1-5 at the place the score is written:
- the local model: one forward pass over the judge's chat and the start of its reply
  (`{"score": `), `LocalBackend.next_token_probs`;
- an OpenAI-compatible endpoint: the reply is asked with `logprobs`/`top_logprobs`, and the
  alternatives of the token after `"score":` are weighed;
- a model that exposes neither, or a reply without them: the written score, recorded as
  `metadata["scoring"] = "argmax"` with a `scoring_note` saying why.
Pass/fail and the reason are the judge's written reply either way.
"""

from __future__ import annotations

from typing import Any, Sequence

from ladder.backends.base import unwrap
from ladder.judges.answer import Answer, AnswerJudge
from ladder.judges.base import TOP_LOGPROBS, Asked, ask, boolean, judge_chat, score_1_to_5, text, token_probs_after
from ladder.types import Assessment, Chat, GenerationParams

SCORE_TOKENS = ("1", "2", "3", "4", "5")
SCORE_PREFIX = '{"score": '  # the start of the reply, after which the score token comes


def weighted_score(probs: dict[str, float]) -> tuple[float, dict[str, float], float] | None:
    """(probability-weighted mean score, the probabilities renormalised over 1-5, their raw mass);
    None when the score tokens have no probability at all."""
    mass = sum(probs.get(t, 0.0) for t in SCORE_TOKENS)
    if mass <= 0:
        return None
    shares = {t: probs.get(t, 0.0) / mass for t in SCORE_TOKENS}
    return sum(int(t) * p for t, p in shares.items()), shares, mass


def score_token_probs(tokens: Sequence[Any]) -> dict[str, float] | None:
    """From a reply's token log-probabilities, the probabilities of the score tokens where the
    score is written (the first digit after `"score":`); None if absent."""
    return token_probs_after(tokens, "score", SCORE_TOKENS)


class RubricJudge(AnswerJudge):
    kind = "rubric"
    fields = {"score": score_1_to_5, "pass": boolean, "reason": text}

    def chat(self, answer: Answer) -> Chat:
        parts = [("Request", answer.input)]
        if answer.reference:
            parts.append(("Reference answer (a good answer, for comparison)", answer.reference))
        parts.append(("Answer to rate", answer.output))
        return judge_chat(
            f"Rate the answer below against these criteria.\n\nCriteria: {self.spec.criteria}\n\n"
            "score: 5 = meets every criterion fully, 1 = meets none; pass: true when the answer is good enough "
            "by the criteria.", parts, self.kind)

    def verdict(self, parsed: dict[str, Any]) -> tuple[bool, float | None, str]:
        return parsed["pass"], float(parsed["score"]), parsed["reason"]

    def assess(self, answers: Sequence[Answer]) -> list[Assessment]:
        if self.spec.scoring == "argmax":
            return super().assess(answers)
        chats = [self.chat(a) for a in answers]
        inner, backend = unwrap(self.model.backend), self.model.backend
        if hasattr(inner, "generate_logprobs"):  # an OpenAI-compatible endpoint: one call gives both
            params = GenerationParams(max_new_tokens=self.spec.max_new_tokens)
            asked = ask(lambda cs: backend.generate_logprobs(list(cs), params, TOP_LOGPROBS), chats, self.parse,
                        self.spec.retries)
            return [self._weighted(a, None if a.extra is None else score_token_probs(a.extra),
                                   "the endpoint returned no token log-probabilities") for a in asked]
        asked = ask(self.model.call(self.spec), chats, self.parse, self.spec.retries)
        if not hasattr(inner, "next_token_probs"):
            return [self.assessment(a, scoring_note="the judge model exposes no token probabilities") for a in asked]
        out = []
        for a in asked:
            probs = None
            if a.parsed is not None:  # one forward pass over the chat and the reply's start
                probs, gen = backend.next_token_probs(a.chat, SCORE_PREFIX, SCORE_TOKENS)
                a.add_cost(gen)
            out.append(self._weighted(a, probs, "the score tokens have no probability"))
        return out

    def _weighted(self, asked: Asked, probs: dict[str, float] | None, why_not: str) -> Assessment:
        found = None if probs is None or asked.parsed is None else weighted_score(probs)
        if found is None:
            return self.assessment(asked, **({"scoring_note": why_not} if asked.parsed is not None else {}))
        score, shares, mass = found
        return self.assessment(asked, score=score, scoring="logprobs", probabilities=shares, probability_mass=mass,
                               argmax_score=asked.parsed["score"])  # type: ignore[index]
