"""Tier 3 figures from people's ratings and A/B choices written into a real store in the agreed format."""

from __future__ import annotations

import pytest

from ladder.scoring_human import consensus, human_figures
from ladder.stats import wilson_interval
from ladder.types import Assessment, Comparison


def _rate(answers, gid, rater, passed, score, seconds):
    answers.store.add_assessments(gid, [Assessment("review", "human", "human", rater, passed=passed, score=score,
                                                   rationale="", metadata={"seconds": seconds, "position": 1})])


def _rated_run(answers):
    a = answers.rung("zero_shot", [True] * 6)
    b = answers.rung("few_shot", [True] * 6)
    for gid, passed, score, seconds in zip(a, [True, True, False, True, True], [5, 4, 2, 4, 5], [10, 20, 30, 40, 50]):
        _rate(answers, gid, "ana", passed, score, seconds)
    for gid, passed, score in zip(a, [True, False, False], [4, 2, 1]):
        _rate(answers, gid, "ben", passed, score, 5)
    return a, b


def test_pass_rate_mean_rating_and_inter_rater_agreement(answers):
    a, _ = _rated_run(answers)
    gens = answers.generations()
    assert [consensus(g) for g in gens["zero_shot"]] == [True, None, False, True, True, None]
    figures = human_figures(gens, [])
    assert [r["rung"] for r in figures["rungs"]] == ["zero_shot"]  # nobody rated few_shot
    z = figures["rungs"][0]
    # answer 1 split (ana pass, ben fail): out of the rate; 3 of the other 4 pass
    assert (z["n_rated"], z["n_labels"], z["n"], z["n_split"]) == (5, 8, 4, 1)
    assert z["pass_rate"] == 0.75 and z["pass_ci"] == list(wilson_interval(3, 4))
    # per-answer means 4.5, 3, 1.5, 4, 5
    assert z["mean_rating"] == pytest.approx(3.6) and z["raters"] == ["ana", "ben"]
    # answers rated twice: (2 pass), (1, 1), (2 fail): per-item agreement 1, 0, 1 -> 2/3; pooled
    # shares 1/2, 1/2 -> chance 1/2; Fleiss' kappa (2/3 - 1/2) / (1/2) = 1/3
    inter = z["inter_rater"]
    assert (inter["n_items"], inter["n_raters"]) == (3, 2) and inter["kappa"] == pytest.approx(1 / 3)
    # the cost of tier 3: seconds per label
    assert figures["cost"]["ratings"] == {"n": 8, "n_timed": 8, "seconds_total": 165.0, "seconds_per_label": 165 / 8}


def test_ab_win_rates_count_ties_and_both_bad_apart(answers):
    a, b = _rated_run(answers)
    answers.store.add_comparisons("run-1", [
        Comparison(a[0], b[0], "human", "ana", "a", metadata={"seconds": 3}),  # zero_shot
        Comparison(b[1], a[1], "human", "ana", "a", first_shown="b", metadata={"seconds": 4}),  # few_shot
        Comparison(a[2], b[2], "human", "ana", "tie", metadata={"seconds": 5}),
        Comparison(a[3], b[3], "human", "ben", "both_bad", metadata={"seconds": 6}),
        Comparison(b[4], a[4], "human", "ben", "b", metadata={"seconds": 7}),  # zero_shot
        Comparison(a[5], b[5], "llm_judge", "pairwise-judge", "b", metadata={"pair": "x"}),  # not a person's
    ])
    figures = human_figures(answers.generations(), answers.store.comparisons("run-1"))
    [ab] = figures["ab"]
    assert ab["rungs"] == ["zero_shot", "few_shot"] and ab["wins"] == {"zero_shot": 2, "few_shot": 1}
    assert (ab["n"], ab["n_decisive"], ab["ties"], ab["both_bad"]) == (5, 3, 1, 1)
    assert ab["win_rate"] == pytest.approx(2 / 3) and ab["win_ci"] == list(wilson_interval(2, 3))
    assert (ab["tie_share"], ab["both_bad_share"]) == (0.2, 0.2)
    assert figures["cost"]["choices"]["seconds_per_label"] == 5.0
    assert figures["cost"]["all"]["n"] == 13 and figures["cost"]["all"]["seconds_total"] == 165.0 + 25
    assert figures["raters"] == ["ana", "ben"]


def test_only_the_given_rows_count_and_nothing_without_people(answers):
    a, b = _rated_run(answers)
    gens = answers.generations()
    assert human_figures({"few_shot": gens["few_shot"]}, []) is None
    test_rows = {name: [g for g in rows if g.example_id != "e0"] for name, rows in gens.items()}
    assert human_figures(test_rows, [])["rungs"][0]["n_rated"] == 4
    answers.store.add_comparisons("run-1", [Comparison(a[0], b[0], "human", "ana", "a")])
    assert human_figures(test_rows, answers.store.comparisons("run-1"))["ab"] == []
