"""Scoring rules: pass, fail, unscored and call errors; accuracies and coverage read only the
assessments, whoever gave them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ladder.scoring import (INTERVAL_METHOD, accuracies, accuracy, answered, assessment_rates, coverage, outcome,
                            pass_table, proportion_interval, tag_result, target_outcomes, target_quality)
from ladder.stats import clopper_pearson_interval, wilson_interval
from ladder.types import Assessment


@dataclass(frozen=True)
class Answer:
    example_id: str
    assessments: tuple[Assessment, ...]
    error: str | None = None


def ok(name: str, tag: str) -> Assessment:
    return Assessment(name, tag, passed=True)


def bad(name: str, tag: str) -> Assessment:
    return Assessment(name, tag, passed=False, rationale="why")


def broken(name: str, tag: str) -> Assessment:
    return Assessment(name, tag, error="the reference has no match for `extract`")


def test_outcome_per_tag() -> None:
    a = Answer("1", (ok("f1", "form"), bad("f2", "form"), ok("k1", "knowledge")))
    assert outcome(a, "form") == "fail"  # every verdict of the tag must pass
    assert outcome(a, "knowledge") == "pass"  # other tags ignored
    assert outcome(a, "overall") == "fail"
    assert outcome(Answer("2", (ok("f1", "form"),)), "knowledge") == "unscored"  # no assessment of that tag
    assert outcome(Answer("3", ()), "overall") == "unscored"


def test_an_error_is_neither_pass_nor_fail() -> None:
    only_errors = Answer("1", (broken("k1", "knowledge"), broken("k2", "knowledge")))
    assert outcome(only_errors, "knowledge") == "unscored" and tag_result(only_errors, "knowledge") is None
    # the verdicts that were given decide; the errored one is left out
    mixed = Answer("2", (broken("k1", "knowledge"), ok("k2", "knowledge")))
    assert outcome(mixed, "knowledge") == "pass"
    assert outcome(Answer("3", (broken("k1", "knowledge"), bad("k2", "knowledge"))), "knowledge") == "fail"
    failed_call = Answer("4", (), error="timeout")
    assert outcome(failed_call, "overall") == "error" and tag_result(failed_call, "overall") is None


def test_judge_and_human_verdicts_count_like_checks() -> None:
    judged = Answer("1", (ok("shape", "form"),
                          Assessment("helpful", "helpfulness", source_kind="llm_judge", source_name="judge-model",
                                     passed=False, score=2.0, rationale="too thin")))
    assert outcome(judged, "helpfulness") == "fail" and outcome(judged, "overall") == "fail"
    rated = Answer("2", (Assessment("stars", "helpfulness", source_kind="human", source_name="ana", score=4.0),))
    assert outcome(rated, "helpfulness") == "unscored"  # a score without pass/fail is no verdict
    # people's review labels are their own tier: reported apart, they never move `overall`
    reviewed = Answer("3", (ok("shape", "form"),
                            Assessment("review", "human", source_kind="human", source_name="ana", passed=False)))
    assert outcome(reviewed, "overall") == "pass" and outcome(reviewed, "human") == "fail"


def test_accuracy_counts_only_scored_answers() -> None:
    gens = [Answer("1", (ok("k", "knowledge"),)), Answer("2", (bad("k", "knowledge"),)),
            Answer("3", (broken("k", "knowledge"),)), Answer("4", (), error="boom"),
            Answer("5", (ok("f", "form"),))]
    assert accuracy(gens, "knowledge") == 0.5
    assert accuracy(gens, "form") == 1.0
    assert accuracy(gens, "overall") == pytest.approx(2 / 3)
    assert accuracy(gens[2:4], "knowledge") is None
    assert coverage(gens, "knowledge").to_dict() == {"n": 5, "n_answered": 4, "n_errors": 1, "n_unscored": 2,
                                                     "n_scored": 2}
    figures = accuracies(gens)
    assert figures["knowledge_accuracy"] == 0.5
    assert figures["knowledge_ci"] == proportion_interval([True, False])
    assert pass_table(gens)["knowledge"] == {"1": True, "2": False}


def test_assessment_rates_count_errors_apart() -> None:
    gens = [Answer("1", (ok("k", "knowledge"),)), Answer("2", (broken("k", "knowledge"),)),
            Answer("3", (broken("j", "knowledge"),))]
    assert assessment_rates(gens) == {"k": {"tag": "knowledge", "pass_rate": 1.0, "n_errors": 1},
                                      "j": {"tag": "knowledge", "pass_rate": None, "n_errors": 1}}


def test_a_perfect_score_keeps_an_honest_interval() -> None:
    """50 of 50 is not certainty: a percentile bootstrap collapsed it to [100, 100]."""
    low, high = proportion_interval([True] * 50)
    assert high == 1.0 and 0.9 < low < 0.95  # Wilson: about 92.9%, like Clopper-Pearson's exact 92.9%
    assert [low, high] == list(wilson_interval(50, 50)) and INTERVAL_METHOD == "Wilson score"
    assert low == pytest.approx(clopper_pearson_interval(50, 50)[0], abs=0.01)
    assert proportion_interval([False] * 10)[1] > 0.25  # 0 of 10 does not collapse to [0, 0] either
    gens = [Answer(str(i), (ok("f", "form"),)) for i in range(50)]
    assert accuracies(gens)["form_ci"] == [low, high]


def test_a_failed_call_fails_the_target_and_leaves_the_means() -> None:
    """A rung that answers half the requests does not meet a target: errors count as failures there."""
    gens = [Answer(str(i), (ok("k", "knowledge"),)) for i in range(5)]
    gens += [Answer(str(i), (), error="timeout") for i in range(5, 10)]
    gens.append(Answer("u", (broken("k", "knowledge"),)))  # a check that could not score: left out
    assert accuracy(gens, "knowledge") == 1.0  # among answered rows
    assert target_quality(gens, "knowledge") == 0.5  # passes / rows attempted
    assert target_outcomes(gens, "knowledge") == {**{str(i): True for i in range(5)},
                                                  **{str(i): False for i in range(5, 10)}}
    assert target_quality(gens[5:10], "knowledge") == 0.0 and target_quality(gens[10:], "knowledge") is None
    assert [g.example_id for g in answered(gens)] == [*map(str, range(5)), "u"]


def test_error_codes_are_read_from_the_error_text_and_counted():
    from types import SimpleNamespace

    from ladder.scoring import error_code, error_codes

    assert error_code("error(429): HTTP 429: slow down (gave up after 6 attempts)") == "429"
    assert error_code("error(timeout): no answer within 60s") == "timeout"
    assert error_code("RuntimeError: out of memory") == "RuntimeError"  # a local backend's
    assert error_code("something odd happened") == "other"
    gens = [SimpleNamespace(error=e) for e in ("error(429): a", None, "error(timeout): b", "error(429): c")]
    assert error_codes(gens) == {"429": 2, "timeout": 1}
    assert list(error_codes(gens)) == ["429", "timeout"]  # most frequent first
