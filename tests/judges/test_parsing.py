"""Strict parsing of judges' replies: exactly the kind's JSON object, nothing else."""

from __future__ import annotations

import pytest

from ladder.judges import KINDS, ReplyError, parse_reply
from ladder.judges.base import with_attempt
from ladder.judges.pairwise import PairwiseJudge
from ladder.types import Message

RUBRIC = KINDS["rubric"].fields
REFERENCE = KINDS["reference"].fields
SUFFICIENCY = KINDS["sufficiency"].fields
PAIRWISE = PairwiseJudge.fields

GOOD = [
    (RUBRIC, '{"score": 4, "pass": true, "reason": "covers it"}', {"score": 4, "pass": True, "reason": "covers it"}),
    (RUBRIC, '  \n{"score": 1, "pass": false, "reason": ""}\n ', {"score": 1, "pass": False, "reason": ""}),
    (RUBRIC, '```json\n{"reason": "ok", "pass": true, "score": 5}\n```', {"score": 5, "pass": True, "reason": "ok"}),
    (REFERENCE, '```\n{"equivalent": false, "reason": "says 5, not 4"}\n```',
     {"equivalent": False, "reason": "says 5, not 4"}),
    (SUFFICIENCY, '{"sufficient": true, "reason": "all points"}', {"sufficient": True, "reason": "all points"}),
    (PAIRWISE, '{"winner": "tie", "reason": "same"}', {"winner": "tie", "reason": "same"}),
    (PAIRWISE, '{"winner": "B", "reason": "B is right"}', {"winner": "B", "reason": "B is right"}),
]

BAD = [
    (RUBRIC, "", "not a JSON object"),
    (RUBRIC, "The score is 4.", "not a JSON object"),
    (RUBRIC, 'Here you go: {"score": 4, "pass": true, "reason": "x"}', "not a JSON object"),
    (RUBRIC, '{"score": 4, "pass": true, "reason": "x"} hope that helps', "not a JSON object"),
    (RUBRIC, '[{"score": 4, "pass": true, "reason": "x"}]', "not a JSON object but list"),
    (RUBRIC, '{"score": 6, "pass": true, "reason": "x"}', "score: expected an integer from 1 to 5"),
    (RUBRIC, '{"score": 0, "pass": false, "reason": "x"}', "score: expected an integer from 1 to 5"),
    (RUBRIC, '{"score": 4.5, "pass": true, "reason": "x"}', "score: expected an integer from 1 to 5"),
    (RUBRIC, '{"score": "4", "pass": true, "reason": "x"}', "score: expected an integer from 1 to 5"),
    (RUBRIC, '{"score": true, "pass": true, "reason": "x"}', "score: expected an integer from 1 to 5"),
    (RUBRIC, '{"score": 4, "pass": "yes", "reason": "x"}', "pass: expected true or false"),
    (RUBRIC, '{"score": 4, "pass": true}', "missing key(s) reason"),
    (RUBRIC, '{"score": 4, "pass": true, "reason": "x", "confidence": 0.9}', "unexpected key(s) confidence"),
    (REFERENCE, '{"equivalent": 1, "reason": "x"}', "equivalent: expected true or false"),
    (REFERENCE, '{"equivalent": true, "reason": null}', "reason: expected a string"),
    (REFERENCE, "{'equivalent': true, 'reason': 'x'}", "not a JSON object"),
    (SUFFICIENCY, '{"equivalent": true, "reason": "x"}', "missing key(s) sufficient; unexpected key(s) equivalent"),
    (PAIRWISE, '{"winner": "a", "reason": "x"}', "winner: expected one of 'A', 'B', 'tie'"),
    (PAIRWISE, '{"winner": "both", "reason": "x"}', "winner: expected one of 'A', 'B', 'tie'"),
    (PAIRWISE, '```json\n{"winner": "A", "reason": "x"}\n```\nA is better.', "not a JSON object"),
    (PAIRWISE, '```python\n{"winner": "A", "reason": "x"}\n```', "not a JSON object"),
]


@pytest.mark.parametrize(("fields", "reply", "expected"), GOOD)
def test_a_reply_that_is_exactly_the_object_parses(fields, reply, expected):
    assert parse_reply(reply, fields) == expected


@pytest.mark.parametrize(("fields", "reply", "problem"), BAD)
def test_anything_else_is_refused_with_the_reason(fields, reply, problem):
    with pytest.raises(ReplyError) as info:
        parse_reply(reply, fields)
    assert str(info.value).startswith(problem)


def test_a_retry_is_a_different_request():
    chat = (Message("system", "s"), Message("user", "judge this"))
    assert with_attempt(chat, 1) == chat
    second, third = with_attempt(chat, 2), with_attempt(chat, 3)
    assert len({chat, second, third}) == 3  # three distinct requests, so three distinct cache keys
    assert second[0] == chat[0] and second[1].content.startswith("judge this") and "Attempt 2" in second[1].content
