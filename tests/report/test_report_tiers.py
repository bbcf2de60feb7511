"""The report's judge cards, human review and rankings, from a real store holding every kind of verdict."""

from __future__ import annotations

import json

from ladder.report import summarize, write_report
from ladder.types import Assessment, AssessmentCost, Comparison

T, F = True, False
SPEC = {"name": "toy", "prices": {"currency": "USD", "input_per_1k": 0.5, "output_per_1k": 1.5},
        "target": {"metric": "knowledge", "value": 0.5}, "volume": 1000}


def _judge(store, ids, verdicts, name="equivalent", tag="knowledge"):
    for gid, v in zip(ids, verdicts):
        store.add_assessments(gid, [Assessment(name, tag, "llm_judge", name, passed=v, rationale="same meaning",
                                               cost=AssessmentCost(120, 8, 0.001, 0.4),
                                               metadata={"judge_kind": "reference", "model": "smollm2-135m-instruct",
                                                         "scoring": "argmax", "prompt": [], "raw": "", "attempts": 1})])


def _climb_with_every_tier(answers, judge_verdicts):
    store = answers.store
    checks = [T, F, T, F, T, F, T, F]
    zero = answers.rung("zero_shot", checks)
    few = answers.rung("few_shot", [T, T, T, F, T, T, T, F])
    _judge(store, zero + few, judge_verdicts)
    for rater, seconds in (("ana", 12.0), ("ben", 8.0)):  # people agree with the checks
        for gid, passed in zip(zero + few[:4], checks + [T, T, T, F]):
            store.add_assessments(gid, [Assessment("review", "human", "human", rater, passed=passed, score=4.0,
                                                   metadata={"seconds": seconds, "position": 0})])
    store.add_comparisons("run-1", [Comparison(f, z, "human", "ana", "a", metadata={"seconds": 6.0})
                                    for f, z in zip(few[:5], zero[:5])])
    votes = []
    for i in range(4):
        for first_shown in ("a", "b"):
            votes.append(Comparison(zero[i], few[i], "llm_judge", "pairwise-judge", "b", first_shown=first_shown,
                                    metadata={"pair": f"{zero[i]}-{few[i]}", "judge_kind": "pairwise"}))
    store.add_comparisons("run-1", votes)
    return zero, few


def test_summary_and_report_carry_every_tier(answers_with_spec, tmp_path):
    answers = answers_with_spec(SPEC)
    store = answers.store
    # the judge agrees with the checks and people on every answer: kappa 1, and on 12 people's labels
    # the lower bound clears 0.4 (on 4 it would not: 10 of 10 agreements do not make a judge trusted)
    _climb_with_every_tier(answers, [T, F, T, F, T, F, T, F, T, T, T, F, T, T, T, F])
    s = summarize(store, "run-1")
    json.dumps(s, allow_nan=False)
    [card, pairwise] = s["judge_cards"]
    assert (card["name"], card["trust"], card["trust_basis"]) == ("equivalent", "trusted", "people")
    assert card["versus"]["people"]["n"] == 12 and card["versus"]["checks"]["n"] == 16
    assert card["versus"]["people"]["kappa_ci"][0] > 0.4
    assert pairwise["kind"] == "pairwise" and pairwise["swap_consistency"] == 1.0 and pairwise["position_bias"] == 0.5
    zero, few = s["human"]["rungs"]
    assert (zero["rung"], zero["pass_rate"], zero["n"]) == ("zero_shot", 0.5, 8) and few["pass_rate"] == 0.75
    assert zero["inter_rater"]["kappa"] == 1.0 and zero["inter_rater"]["n_raters"] == 2
    assert s["human"]["ab"][0]["wins"] == {"zero_shot": 0, "few_shot": 5}
    assert s["human"]["cost"]["all"]["seconds_total"] == 12 * 12 + 12 * 8 + 5 * 6
    judged, people = s["pairwise_ranking"]
    assert (judged["source_kind"], people["source_kind"]) == ("llm_judge", "human")
    assert {e["rung"]: e["rank"] for e in judged["rungs"]} == {"few_shot": 1, "zero_shot": 2}
    rec = s["recommendation"]
    assert rec["judges"] == [{"name": "equivalent", "tag": "knowledge", "trust": "trusted"}]
    assert not rec["rests_on_untrusted_judge"] and rec["untrusted_judges"] == []

    paths = write_report(store, "run-1", tmp_path / "out")
    md, html = paths["md"].read_text(), paths["html"].read_text()
    for text in (md, html):
        for section in ("Judge cards", "Human review", "Ranking from pairwise votes", "From people", "swap consistency",
                        "Cost of tier 3", "Fleiss"):
            assert section in text, section
    assert "| equivalent | reference, tag knowledge (smollm2-135m-instruct, argmax) | 16/16 (100.0%), 0 judge_error" in md
    assert "judge pass: 7 pass, 0 fail; judge fail: 0 pass, 5 fail" in md  # against people
    assert "judge pass: 10 pass, 0 fail; judge fail: 0 pass, 6 fail" in md  # against the checks


def test_a_recommendation_resting_on_an_untrusted_judge_says_so(answers_with_spec, tmp_path):
    answers = answers_with_spec(SPEC)
    store = answers.store
    # the judge passes what the checks and people fail and the reverse, on half the answers
    _climb_with_every_tier(answers, [T, T, F, F, T, T, F, F, T, T, F, F, T, T, F, F])
    s = summarize(store, "run-1")
    assert s["judge_cards"][0]["trust"] == "untrusted"
    rec = s["recommendation"]
    assert rec["rests_on_untrusted_judge"] and rec["untrusted_judges"] == ["equivalent"]
    assert any(n.startswith("it rests on an untrusted judge, equivalent") for n in rec["notes"])
    md = write_report(store, "run-1", tmp_path / "out")["md"].read_text()
    assert "rests on an untrusted judge, equivalent" in md.split("## Quality vs cost")[0]  # in the recommendation
    assert "The recommendation rests on an untrusted judge: equivalent." in md


def test_a_judge_on_another_tag_is_not_behind_the_target(answers_with_spec, tmp_path):
    answers = answers_with_spec(SPEC)
    store = answers.store
    ids = answers.rung("zero_shot", [T, F, T, F])
    _judge(store, ids, [T, T, T, T], name="helpful", tag="helpfulness")
    s = summarize(store, "run-1")
    assert s["judge_cards"][0]["trust"] == "unknown" and s["recommendation"]["judges"] == []
    md = write_report(store, "run-1", tmp_path / "out")["md"].read_text()
    assert "no reference signal: trust unknown" in md and "## Human review" not in md


def test_a_store_without_judges_people_or_votes_reports_no_tier_sections(answers_with_spec, tmp_path):
    answers = answers_with_spec(SPEC)
    store = answers.store
    answers.rung("zero_shot", [T, F, T])
    s = summarize(store, "run-1")
    assert (s["judge_cards"], s["human"], s["pairwise_ranking"]) == ([], None, [])
    assert s["recommendation"]["rests_on_untrusted_judge"] is False
    paths = write_report(store, "run-1", tmp_path / "out")
    for text in (paths["md"].read_text(), paths["html"].read_text()):
        assert "Judge cards" not in text and "Human review" not in text and "Ranking from pairwise" not in text


def test_the_trust_threshold_comes_from_the_runs_spec(answers_with_spec, tmp_path):
    answers = answers_with_spec({**SPEC, "judge_trust_kappa": 0.9})
    _climb_with_every_tier(answers, [T, F, T, F, T, F, T, F, T, T, T, F, T, T, T, F])
    s = summarize(answers.store, "run-1")
    assert s["run"]["judge_trust_kappa"] == 0.9
    assert s["judge_cards"][0]["trust"] == "untrusted" and s["recommendation"]["rests_on_untrusted_judge"]
