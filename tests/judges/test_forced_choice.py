"""Forced-choice scoring of the boolean judges (reference, sufficiency) with `scoring: logprobs`:
the verdict is the more probable of true/false where the reply writes it, from an endpoint's
logprobs (a real server on 127.0.0.1) or from one forward pass of the local model."""

from __future__ import annotations

import math

import pytest

from ladder.judges import JudgeModel, build_judge
from ladder.judges.answer import Answer
from ladder.task.spec import JudgeSpec, PriceSpec
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import Store

WRITTEN = '{"equivalent": false, "reason": "no"}'
PARIS = Answer("Capital of France?", "Paris.", "It is Paris.")


def tokens_of(reply_pieces: list[str], value_alternatives: dict[str, float]) -> list[dict]:
    """The reply as a server's `logprobs.content`; the token after `"equivalent":` has `value_alternatives`."""
    out, after_key = [], False
    for piece in reply_pieces:
        top = value_alternatives if after_key and piece.strip() in ("true", "false") else {piece: 1.0}
        after_key = after_key or piece == '":'
        out.append({"token": piece, "logprob": math.log(top.get(piece, 1.0)), "bytes": None,
                    "top_logprobs": [{"token": t, "logprob": math.log(p), "bytes": None} for t, p in top.items()]})
    return out


def test_the_endpoint_verdict_is_the_more_probable_value_not_the_written_one(judge_server, make_judge, tmp_path):
    pieces = ['{"', "equivalent", '":', " false", ", ", '"reason', '":', ' "no"', "}"]
    assert "".join(pieces) == WRITTEN
    # " true" and "true" are one value; "maybe" is neither (left out, the rest renormalised)
    judge_server.script = lambda _r: judge_server.reply(WRITTEN, tokens_of(pieces, {" false": 0.3, " true": 0.5,
                                                                                   "true": 0.1, "maybe": 0.1}))
    judge = make_judge(Store(tmp_path), judge_server.model_spec(), name="same", kind="reference", scoring="logprobs")
    (verdict,) = judge.assess([PARIS])
    assert judge_server.requests[0]["logprobs"] is True
    assert verdict.passed is True and verdict.score == pytest.approx(0.6 / 0.9)
    assert verdict.metadata["scoring"] == "logprobs" and verdict.metadata["argmax_verdict"] is False
    assert verdict.metadata["probability_mass"] == pytest.approx(0.9)


def test_an_endpoint_without_logprobs_keeps_the_written_verdict_and_says_why(judge_server, make_judge, tmp_path):
    judge_server.script = lambda _r: judge_server.reply(WRITTEN)
    judge = make_judge(Store(tmp_path), judge_server.model_spec(), name="enough", kind="sufficiency",
                       scoring="logprobs")
    (verdict,) = judge.assess([PARIS])
    assert verdict.passed is None and verdict.error is not None  # a sufficiency judge wants `sufficient`, not this
    judge_server.script = lambda _r: judge_server.reply('{"sufficient": false, "reason": "thin"}')
    (verdict,) = make_judge(Store(tmp_path / "2"), judge_server.model_spec(), name="enough", kind="sufficiency",
                            scoring="logprobs").assess([PARIS])
    assert verdict.passed is False and verdict.score is None and verdict.metadata["scoring"] == "argmax"
    assert verdict.metadata["scoring_note"] == "the endpoint returned no token log-probabilities"


@pytest.mark.slow
def test_the_local_model_decides_in_one_forward_pass_and_never_misparses(backend, tmp_path):
    cached = CachedBackend(backend, Store(tmp_path))
    judge = build_judge(JudgeSpec(name="same", kind="reference", scoring="logprobs", retries=2),
                        JudgeModel(cached, cached.fingerprint(), PriceSpec(input_per_1k=1.0)))
    answers = [PARIS, Answer("What is the capital of Spain?", "Madrid.", "Lisbon, in Portugal."),
               Answer("How many days has a week?", "Seven.", "A week has seven days.")]
    verdicts = judge.assess(answers)
    for v in verdicts:
        assert v.error is None and v.metadata["scoring"] == "logprobs" and v.metadata["attempts"] == 1
        assert 0 < v.score < 1 and v.passed == (v.score > 0.5)
        assert 0 < v.metadata["probability_mass"] <= 1 + 1e-6 and f"P(true) = {v.score:.3f}" in v.rationale
        assert v.cost.prompt_tokens > 0 and v.cost.completion_tokens == 0 and v.cost.money > 0  # a prefill only
    assert len({round(v.score, 6) for v in verdicts}) == len(verdicts)  # the answers are told apart
    assert [v.score for v in judge.assess(answers)] == [v.score for v in verdicts] and cached.hits == len(answers)
