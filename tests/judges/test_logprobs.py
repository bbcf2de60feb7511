"""G-Eval scoring of a rubric judge: the probability-weighted mean of the score tokens, from an
OpenAI-compatible endpoint's logprobs (a real server on 127.0.0.1) or the local model's
next-token probabilities; argmax, recorded as such, where none are exposed."""

from __future__ import annotations

import math

import pytest

from ladder.judges import JudgeModel, build_judge
from ladder.judges.answer import Answer
from ladder.judges.rubric import SCORE_PREFIX, SCORE_TOKENS
from ladder.task.spec import JudgeSpec, PriceSpec
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import Store

REPLY = '{"score": 4, "pass": true, "reason": "ok"}'
CRITERIA = "The answer names the capital correctly."


def tokens_of_reply(alternatives: dict[str, float]) -> list[dict]:
    """REPLY as a server's `logprobs.content`, the score token with `alternatives` (token -> probability)."""
    pieces = ['{"', "score", '":', " ", "4", ", ", '"pass', '":', " true", ", ", '"reason', '":', ' "ok"', "}"]
    assert "".join(pieces) == REPLY
    out = []
    for piece in pieces:
        top = alternatives if piece == "4" else {piece: 1.0}
        out.append({"token": piece, "logprob": math.log(top.get(piece, 1.0)), "bytes": None,
                    "top_logprobs": [{"token": t, "logprob": math.log(p), "bytes": None} for t, p in top.items()]})
    return out


def test_the_score_is_the_probability_weighted_mean_of_the_score_tokens(judge_server, make_judge, tmp_path):
    store = Store(tmp_path)
    # " 5" and "5" are one score; "x" is no score at all (left out, the rest renormalised)
    judge_server.script = lambda _r: judge_server.reply(REPLY, tokens_of_reply({"4": 0.5, "5": 0.2, " 5": 0.1,
                                                                               "3": 0.1, "x": 0.1}))
    judge = make_judge(store, judge_server.model_spec(), name="capital", kind="rubric", criteria=CRITERIA,
                       scoring="logprobs")
    (verdict,) = judge.assess([Answer("Capital of France?", "Paris", "Paris")])
    request = judge_server.requests[0]
    assert request["logprobs"] is True and request["top_logprobs"] == 5
    expected = (4 * 0.5 + 5 * 0.3 + 3 * 0.1) / 0.9
    assert verdict.metadata["scoring"] == "logprobs" and verdict.score == pytest.approx(expected)
    assert verdict.metadata["argmax_score"] == 4 and verdict.passed is True
    assert verdict.metadata["probabilities"] == pytest.approx({"1": 0, "2": 0, "3": 1 / 9, "4": 5 / 9, "5": 3 / 9})
    assert verdict.metadata["probability_mass"] == pytest.approx(0.9)
    # a re-run reads reply and log-probabilities back from the call cache
    (again,) = make_judge(store, judge_server.model_spec(), name="capital", kind="rubric", criteria=CRITERIA,
                          scoring="logprobs").assess([Answer("Capital of France?", "Paris", "Paris")])
    assert len(judge_server.requests) == 1 and again.score == verdict.score and again.metadata["scoring"] == "logprobs"


def test_an_endpoint_without_logprobs_falls_back_to_argmax_and_says_so(judge_server, make_judge, tmp_path):
    judge_server.script = lambda _r: judge_server.reply(REPLY)  # the server ignores the logprobs request
    judge = make_judge(Store(tmp_path), judge_server.model_spec(), name="capital", kind="rubric", criteria=CRITERIA,
                       scoring="logprobs")
    (verdict,) = judge.assess([Answer("Capital of France?", "Paris", "Paris")])
    assert verdict.score == 4.0 and verdict.metadata["scoring"] == "argmax"
    assert verdict.metadata["scoring_note"] == "the endpoint returned no token log-probabilities"


@pytest.mark.slow
def test_the_local_model_gives_the_score_tokens_probabilities_in_one_pass(backend, tmp_path):
    store = Store(tmp_path)
    cached = CachedBackend(backend, store)
    judge = build_judge(JudgeSpec(name="capital", kind="rubric", criteria=CRITERIA, scoring="logprobs", retries=0,
                                  max_new_tokens=32), JudgeModel(cached, cached.fingerprint(), PriceSpec()))
    answers = [Answer("What is the capital of France?", "Paris.", "The capital of France is Paris."),
               Answer("What is the capital of Spain?", "Madrid.", "Lisbon.")]
    chat = judge.chat(answers[0])
    probs, gen = cached.next_token_probs(chat, SCORE_PREFIX, SCORE_TOKENS)
    assert set(probs) == set(SCORE_TOKENS) and all(p > 0 for p in probs.values()) and sum(probs.values()) <= 1 + 1e-6
    assert gen.prompt_tokens > backend.count_tokens(chat) and gen.completion_tokens == 0
    assert cached.next_token_probs(chat, SCORE_PREFIX, SCORE_TOKENS)[0] == probs and cached.hits == 1
    # what they are by definition: the softmax of the whole head's logits at the reply's last position
    import torch

    from ladder.backends.local import render_chat

    text = render_chat(backend.tokenizer, chat) + SCORE_PREFIX
    with torch.no_grad():
        full = torch.softmax(backend.loaded_model(None)(torch.tensor(
            [backend.tokenizer(text, add_special_tokens=False)["input_ids"]])).logits[0, -1].float(), dim=-1)
    want = {c: float(full[backend.tokenizer(text + c, add_special_tokens=False)["input_ids"][-1]]) for c in SCORE_TOKENS}
    assert probs == pytest.approx(want, rel=1e-3)  # the head on one position takes another kernel: ~1e-5 apart
    for verdict in judge.assess(answers):
        if verdict.error is None:  # the reply parsed: its score is the weighted mean, not the written one
            shares = verdict.metadata["probabilities"]
            assert verdict.metadata["scoring"] == "logprobs" and sum(shares.values()) == pytest.approx(1)
            assert verdict.score == pytest.approx(sum(int(t) * p for t, p in shares.items()))
        else:  # a 135M model may not write the object: then no score at all, never a made-up one
            assert verdict.error.startswith("judge_error") and verdict.score is None and verdict.passed is None
