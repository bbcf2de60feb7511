"""A judge whose endpoint answers garbage gives judge_error after its retries: a third state,
never pass and never fail, counted. The endpoint is a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json

from ladder.judges.answer import Answer
from ladder.judges.run import judge_rung
from ladder.scoring import accuracy, coverage, judge_coverage, outcome, rung_judge_cost
from ladder.tracking.store import Store

def garbage(server):
    return [
        (200, b"this is not json at all"),  # a body that is not JSON
        (200, b'{"id": "x", "object": "chat.completion"}'),  # JSON without choices
        (200, json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": None},
                                       "finish_reason": "stop"}]}).encode()),  # no content
        (400, b'{"error": {"message": "bad request"}}'),  # an HTTP error
        server.reply("Sure! The answer looks equivalent to me."),  # prose, not the object
        server.reply('{"equivalent": "yes", "reason": "x"}'),  # the wrong type
    ]


def test_garbage_from_the_endpoint_is_a_judge_error_after_the_retries(judge_server, make_judge, tmp_path):
    store = Store(tmp_path)
    calls = iter(garbage(judge_server) * 2)  # 2 answers x 3 attempts: each kind of garbage once
    judge_server.script = lambda _request: next(calls)
    judge = make_judge(store, judge_server.model_spec(), name="eq", kind="reference", retries=2)
    verdicts = judge.assess([Answer("q1", "ref", "out1"), Answer("q2", "ref", "out2")])
    assert [v.passed for v in verdicts] == [None, None] and [v.verdict for v in verdicts] == [None, None]
    for v in verdicts:
        assert v.error.startswith("judge_error: ") and v.error.endswith("(after 3 attempt(s))")
        assert v.metadata["attempts"] == 3 and len(v.metadata["attempt_errors"]) == 3
        assert v.source_kind == "llm_judge" and v.name == "eq" and v.tag == "knowledge"
    asked = [judge_server.user_text(r) for r in judge_server.requests]
    # each answer asked once and re-asked twice, each re-ask a different request, so no cache
    # could answer it with the reply that failed
    assert len(asked) == len(set(asked)) == 6 and sum("Attempt 3" in t for t in asked) == 2


def test_judge_errors_are_neither_pass_nor_fail_and_are_counted(judge_server, make_judge, stored_run, tmp_path):
    store = Store(tmp_path)
    ids = stored_run(store, {"zero_shot": [("1", "q1", "good", None), ("2", "q2", "bad", None),
                                           ("3", "q3", "garbage please", None), ("4", "q4", "", "HTTP 500")]})

    def script(request):
        text = judge_server.user_text(request)
        if "garbage please" in text:
            return 200, b"<html>502 Bad Gateway</html>"
        return judge_server.reply(json.dumps({"equivalent": "good" in text.split("Answer to judge")[1], "reason": "r"}))

    judge_server.script = script
    judge = make_judge(store, judge_server.model_spec(), name="eq", kind="reference", retries=1)
    (row,) = store.rung_results("r1")
    assert judge_rung([judge], store, row) == 3  # the failed call (row 4) gets no verdict
    gens = store.generations(ids["zero_shot"])
    assert [outcome(g, "knowledge") for g in gens] == ["pass", "fail", "unscored", "error"]
    assert accuracy(gens, "knowledge") == 0.5  # 1 pass of 2 verdicts: the judge_error is in neither
    assert coverage(gens, "knowledge").n_unscored == 1
    seen = judge_coverage(gens)["eq"]
    assert (seen["verdicts"], seen["errors"], seen["n_answered"]) == (2, 1, 3)
    assert abs(seen["coverage"] - 2 / 3) < 1e-9
    cost = rung_judge_cost(gens)  # 2 verdicts of 50 + 10 tokens; the garbage calls failed, so cost no tokens
    assert cost["verdicts"] == 3 and cost["prompt_tokens"] == 100 and cost["completion_tokens"] == 20
    assert abs(cost["money"] - (100 * 0.5 + 20 * 1.5) / 1000) < 1e-12
    (bad,) = [a for g in gens for a in g.assessments if a.error]
    assert bad.metadata["raw"] == "" and bad.metadata["prompt"][-1]["content"].count("garbage please") == 1


def test_a_second_run_reads_the_verdicts_from_the_cache(judge_server, make_judge, tmp_path):
    store = Store(tmp_path)
    judge_server.script = lambda _r: judge_server.reply('{"equivalent": true, "reason": "same"}')
    answers = [Answer("q1", "ref", "out1"), Answer("q2", "ref", "out2")]
    first = make_judge(store, judge_server.model_spec(), name="eq", kind="reference").assess(answers)
    again = make_judge(store, judge_server.model_spec(), name="eq", kind="reference").assess(answers)
    assert len(judge_server.requests) == 2
    assert [a.passed for a in again] == [a.passed for a in first] == [True, True]
    assert [a.cost for a in again] == [a.cost for a in first]  # a cached verdict shows what it cost
