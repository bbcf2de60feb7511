"""Judge cards from verdicts written into a real store in the agreed format, against counts worked by hand."""

from __future__ import annotations

import pytest

from ladder.scoring_judges import NO_REFERENCE, answer_judge_card, judge_cards, pairwise_judge_card, resolved_pairs
from ladder.stats import cohen_kappa, wilson_interval
from ladder.types import Assessment, AssessmentCost, Comparison

T, F, E = True, False, "judge_error"
COST = AssessmentCost(prompt_tokens=100, completion_tokens=10, money=0.002, latency_s=0.5)


def _judge(answers, gen_ids, verdicts, name="equivalent", tag="knowledge", **metadata):
    """Store one judge verdict per answer: True/False, E (a judge_error), or None (not asked)."""
    for gid, v in zip(gen_ids, verdicts):
        if v is None:
            continue
        meta = {"judge_kind": "reference", "model": "smollm2-135m-instruct", "scoring": "argmax",
                "prompt": [{"role": "user", "content": "same meaning?"}], "raw": "{}", "attempts": 1, **metadata}
        answers.store.add_assessments(gid, [Assessment(
            name, tag, "llm_judge", name, passed=None if v == E else v, error="judge_error: unparsable" if v == E else None,
            rationale="because", cost=COST, metadata=meta)])


def _rate(answers, gen_ids, rater, labels, seconds=10.0):
    for gid, passed in zip(gen_ids, labels):
        if passed is not None:
            answers.store.add_assessments(gid, [Assessment("review", "human", "human", rater, passed=passed, score=4.0,
                                                           metadata={"seconds": seconds, "position": 0})])


def _card(answers, name="equivalent", trust_kappa=0.4):
    gens = [g for rows in answers.generations().values() for g in rows]
    return answer_judge_card(name, gens, trust_kappa)


def test_against_tier1_checks_of_its_tag(answers):
    ids = answers.rung("zero_shot", [T, T, T, T, F, F, F, F, T, F])
    _judge(answers, ids, [T, T, T, F, F, F, T, F, E, T])
    card = _card(answers)
    # the errored verdict (answer 8) is left out; judge rows, check columns:
    #   judge pass: answers 0 1 2 with the check passing, 6 9 with it failing; judge fail: 3 | 4 5 7
    checks = card["versus"]["checks"]
    assert checks["confusion"] == [[3, 2], [1, 3]] and checks["n"] == 9
    assert checks["agreement"] == pytest.approx(6 / 9) and checks["agreement_ci"] == list(wilson_interval(6, 9))
    # p_o = 54/81, shares 5/9 4/9 (judge) and 4/9 5/9 (checks): p_e = 40/81, kappa = 14/41
    assert checks["kappa"] == pytest.approx(14 / 41)
    assert checks["kappa_ci"] == list(cohen_kappa([[3, 2], [1, 3]]).ci)
    assert card["versus"]["people"] is None
    assert (card["trust"], card["trust_basis"]) == ("untrusted", "checks") and "below 0.4" in card["trust_text"]
    # coverage: 9 verdicts of 10 asks; every ask's cost (the failed one too) over the 9 verdicts
    assert (card["asked"], card["verdicts"], card["judge_errors"], card["coverage"]) == (10, 9, 1, 0.9)
    assert card["cost"]["money_per_verdict"] == pytest.approx(10 * 0.002 / 9)
    assert card["cost"]["tokens_per_verdict"] == pytest.approx(10 * 110 / 9)
    assert (card["tag"], card["kind"], card["model"], card["scoring"]) == ("knowledge", "reference",
                                                                           "smollm2-135m-instruct", "argmax")


def test_peoples_labels_decide_and_an_even_split_is_left_out(answers):
    ids = answers.rung("zero_shot", [T, T, T, T, F, F, F, F, T, F])
    _judge(answers, ids, [T, T, T, F, F, F, T, F, E, T])
    _rate(answers, ids, "ana", [T, T, T, T, F, F])
    _rate(answers, ids, "ben", [T, F, T, T])  # answer 1: ana pass, ben fail -> no people's label
    card = _card(answers)
    people = card["versus"]["people"]
    # answers 0 2 (both pass), 3 (judge fail, people pass), 4 5 (both fail)
    assert people["n"] == 5 and people["confusion"] == [[2, 0], [1, 2]]
    assert people["kappa"] == pytest.approx(cohen_kappa([[2, 0], [1, 2]]).kappa)
    assert card["trust_basis"] == "people" and card["versus"]["checks"]["n"] == 9


def test_a_judge_that_agrees_on_enough_labels_is_trusted_and_the_threshold_is_configurable(answers):
    labels = [T, F] * 20
    ids = answers.rung("few_shot", labels)
    _judge(answers, ids, labels)
    card = _card(answers)
    checks = card["versus"]["checks"]
    assert checks["kappa"] == 1.0 and checks["kappa_ci"][0] == pytest.approx((wilson_interval(40, 40)[0] - 0.5) / 0.5)
    assert card["trust"] == "trusted" and "at or above 0.4" in card["trust_text"]
    assert _card(answers, trust_kappa=0.9)["trust"] == "untrusted"


def test_without_a_reference_signal_trust_is_unknown(answers):
    ids = answers.rung("zero_shot", [T, F, T, F])
    _judge(answers, ids, [T, T, F, F], name="helpful", tag="helpfulness")  # no check has its tag; nobody rated
    card = _card(answers, "helpful")
    assert card["versus"] == {"people": None, "checks": None}
    assert card["trust"] == "unknown" and card["trust_text"] == NO_REFERENCE


def test_an_undefined_kappa_makes_trust_unknown_not_perfect(answers):
    ids = answers.rung("zero_shot", [T] * 8)
    _judge(answers, ids, [T] * 8)
    card = _card(answers)
    assert card["versus"]["checks"]["agreement"] == 1.0 and card["versus"]["checks"]["kappa"] is None
    assert card["trust"] == "unknown" and "kappa undefined" in card["trust_text"]


def test_labels_the_judge_was_calibrated_on_are_held_out(answers):
    labels = [T, F, T, F, T, F, T, F]
    ids = answers.rung("zero_shot", labels)
    _judge(answers, ids, [F, T, F, T, T, F, T, F], calibration_ids=ids[:4])  # it got its own examples wrong
    card = _card(answers)
    assert card["n_calibration_excluded"] == 4
    assert card["versus"]["checks"]["n"] == 4 and card["versus"]["checks"]["agreement"] == 1.0
    # example ids name the same answers (every rung's answer to that example)
    answers.rung("few_shot", labels)
    gens = [g for rows in answers.generations().values() for g in rows]
    for g in gens[8:]:
        answers.store.add_assessments(g.id, [Assessment("by_example", "knowledge", "llm_judge", "by_example",
                                                        passed=True, metadata={"calibration_ids": ["e0", "e1"]})])
    by_example = answer_judge_card("by_example", [g for rows in answers.generations().values() for g in rows])
    assert by_example["n_calibration_excluded"] == 2 and by_example["versus"]["checks"]["n"] == 6


def _pair(answers, a, b, pair, first_shown, winner, swapped=False):
    """One pairwise verdict as the judges store it; `swapped` stores the order with a and b exchanged."""
    if swapped:
        a, b = b, a
        first_shown = "b" if first_shown == "a" else "a"
        winner = {"a": "b", "b": "a"}.get(winner, winner)
    return Comparison(a, b, "llm_judge", "pairwise-judge", None if winner == E else winner, first_shown=first_shown,
                      error="judge_error: garbage" if winner == E else None, cost=COST,
                      metadata={"pair": pair, "judge_kind": "pairwise", "prompt": [], "raw": "", "attempts": 1})


def _pairwise_run(answers):
    a = answers.rung("zero_shot", [None] * 5)
    b = answers.rung("few_shot", [None] * 5)
    # orders: (first shown, winner) — pair 0 consistent b; 1 inconsistent (each order picks the first
    # shown); 2 consistent tie; 3 its second order errored; 4 consistent a, its second order stored swapped
    orders = [(("a", "b"), ("b", "b")), (("a", "a"), ("b", "b")), (("a", "tie"), ("b", "tie")),
              (("a", "a"), ("b", E)), (("a", "a"), ("b", "a"))]
    votes = []
    for i, (one, two) in enumerate(orders):
        votes += [_pair(answers, a[i], b[i], f"{a[i]}-{b[i]}", *one),
                  _pair(answers, a[i], b[i], f"{a[i]}-{b[i]}", *two, swapped=i == 4)]
    answers.store.add_comparisons("run-1", votes)
    return a, b


def test_pairwise_pairs_resolve_from_both_orders(answers):
    a, b = _pairwise_run(answers)
    resolved = {(p["a"], p["b"]): (p["status"], p["outcome"]) for p in resolved_pairs(answers.store.comparisons("run-1"))}
    assert resolved == {(a[0], b[0]): ("consistent", b[0]), (a[1], b[1]): ("inconsistent", None),
                        (a[2], b[2]): ("consistent", None), (a[3], b[3]): ("incomplete", None),
                        (a[4], b[4]): ("consistent", a[4])}


def test_pairwise_card_swap_consistency_and_position_bias(answers):
    _pairwise_run(answers)
    card = pairwise_judge_card("pairwise-judge", answers.store.comparisons("run-1"))
    assert (card["n_pairs"], card["n_pairs_both_orders"], card["n_consistent"], card["n_inconsistent"],
            card["n_incomplete"]) == (5, 4, 3, 1, 1)
    assert card["swap_consistency"] == 0.75 and card["swap_consistency_ci"] == list(wilson_interval(3, 4))
    # decisive verdicts: pair 0 (b shown second, b shown first), 1 (both first), 3 (first), 4 (first, then the
    # answer shown second): 5 of 7 went to the answer shown first
    assert (card["n_decisive"], card["first_position_wins"]) == (7, 5)
    assert card["position_bias"] == pytest.approx(5 / 7)
    assert (card["asked"], card["verdicts"], card["judge_errors"], card["n_tie_verdicts"]) == (10, 9, 1, 2)
    assert card["versus"]["people"] is None and card["trust"] == "unknown"


def test_pairwise_card_against_peoples_ab_choices(answers):
    a, b = _pairwise_run(answers)
    answers.store.add_comparisons("run-1", [
        Comparison(b[0], a[0], "human", "ana", "a", first_shown="b"),  # b's answer, as the judge said
        Comparison(a[1], b[1], "human", "ana", "both_bad"),  # reads as a tie; the judge's inconsistent pair too
        Comparison(a[4], b[4], "human", "ana", "b"),  # the judge said a
    ])
    people = pairwise_judge_card("pairwise-judge", answers.store.comparisons("run-1"))["versus"]["people"]
    # labels first (the lower generation id: zero_shot's), second, tie; judge rows
    assert people["n"] == 3 and people["confusion"] == [[0, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert people["agreement"] == pytest.approx(2 / 3)
    # p_e = (1/3)(0) + (1/3)(2/3) + (1/3)(1/3) = 1/3: kappa = (2/3 - 1/3) / (2/3) = 0.5
    assert people["kappa"] == pytest.approx(0.5)


def test_cards_for_every_judge_and_none_without_judges(answers):
    ids, _ = _pairwise_run(answers)
    assert judge_cards([g for rows in answers.generations().values() for g in rows], []) == []
    _judge(answers, ids, [T, F, T])
    _judge(answers, ids, [T, T, T], name="thin", tag="knowledge")
    gens = [g for rows in answers.generations().values() for g in rows]
    cards = judge_cards(gens, answers.store.comparisons("run-1"))
    assert [(c["name"], c["kind"]) for c in cards] == [("equivalent", "reference"), ("thin", "reference"),
                                                       ("pairwise-judge", "pairwise")]
    with pytest.raises(ValueError, match="no verdict of a judge named 'nobody'"):
        answer_judge_card("nobody", gens)
    with pytest.raises(ValueError, match="no pairwise verdict"):
        pairwise_judge_card("equivalent", answers.store.comparisons("run-1"))
