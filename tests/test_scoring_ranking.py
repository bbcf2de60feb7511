"""Bradley-Terry rankings of rungs from pairwise votes stored in a real store."""

from __future__ import annotations

import pytest

from ladder.scoring_ranking import pairwise_rankings
from ladder.types import Comparison


def _choices(a_ids, b_ids, wins_a, wins_b, ties=0, rater="ana"):
    """People's choices between two rungs' answers to the same examples, in that order."""
    winners = ["a"] * wins_a + ["b"] * wins_b + ["tie"] * ties
    return [Comparison(a, b, "human", rater, w) for a, b, w in zip(a_ids, b_ids, winners, strict=True)]


def test_people_choices_rank_the_rungs_in_the_order_they_won(answers):
    n = 30
    weak, mid, strong = (answers.rung(name, [None] * n) for name in ("zero_shot", "few_shot", "rag"))
    answers.store.add_comparisons("run-1", [
        *_choices(strong, weak, 25, 5), *_choices(mid, strong, 10, 20), *_choices(mid, weak, 20, 10)])
    [ranking] = pairwise_rankings(answers.generations(), answers.store.comparisons("run-1"), resamples=200)
    assert ranking["source_kind"] == "human" and ranking["sources"] == ["ana"] and ranking["n_votes"] == 90
    by = {e["rung"]: e for e in ranking["rungs"]}
    assert [by[r]["rank"] for r in ("rag", "few_shot", "zero_shot")] == [1, 2, 3]
    assert sum(e["strength"] for e in ranking["rungs"]) == pytest.approx(0.0, abs=1e-9)
    for e in ranking["rungs"]:
        assert e["ci"][0] <= e["strength"] <= e["ci"][1] and not e["sweep"]
    assert (by["rag"]["wins"], by["rag"]["losses"], by["rag"]["n"]) == (45, 15, 60)
    assert by["zero_shot"]["ci"][1] < by["rag"]["ci"][0]
    assert ranking["connected"] and "Bradley-Terry" in ranking["method"] and "200" in ranking["method"]


def test_judge_votes_and_people_are_ranked_apart_and_an_inconsistent_pair_is_a_tie(answers):
    a = answers.rung("zero_shot", [None] * 3)
    b = answers.rung("few_shot", [None] * 3)
    judge = []
    for i, (first, second) in enumerate([("b", "b"), ("a", "b"), ("b", "b")]):  # pair 1: each order picks its first
        judge += [Comparison(a[i], b[i], "llm_judge", "pj", first, first_shown="a", metadata={"pair": f"p{i}"}),
                  Comparison(a[i], b[i], "llm_judge", "pj", second, first_shown="b", metadata={"pair": f"p{i}"})]
    answers.store.add_comparisons("run-1", [*judge, *_choices(a, b, 3, 0)])
    judged, people = pairwise_rankings(answers.generations(), answers.store.comparisons("run-1"), resamples=100)
    assert (judged["source_kind"], judged["sources"], judged["n_votes"]) == ("llm_judge", ["pj"], 3)
    by = {e["rung"]: e for e in judged["rungs"]}
    assert (by["few_shot"]["wins"], by["few_shot"]["ties"], by["few_shot"]["losses"]) == (2, 1, 0)
    assert by["few_shot"]["rank"] == 1 and by["few_shot"]["sweep"] is False
    # people saw it the other way round, and won every vote: a sweep, the prior sets the strength
    by = {e["rung"]: e for e in people["rungs"]}
    assert by["zero_shot"]["rank"] == 1 and by["zero_shot"]["sweep"] and by["few_shot"]["sweep"]
    assert by["zero_shot"]["ci"] is None  # every resample is 3 of 3: a zero-width interval is not reported


def test_ties_only_give_equal_strengths(answers):
    a, b = answers.rung("zero_shot", [None] * 4), answers.rung("few_shot", [None] * 4)
    answers.store.add_comparisons("run-1", _choices(a, b, 0, 0, ties=4))
    [ranking] = pairwise_rankings(answers.generations(), answers.store.comparisons("run-1"), resamples=100)
    for e in ranking["rungs"]:
        assert e["strength"] == pytest.approx(0.0, abs=1e-6) and e["ties"] == 4 and not e["sweep"]


def test_disconnected_groups_are_flagged_and_other_rows_are_left_out(answers):
    ids = [answers.rung(name, [None] * 2) for name in ("zero_shot", "instructed", "few_shot", "rag")]
    answers.store.add_comparisons("run-1", [*_choices(ids[0], ids[1], 1, 1), *_choices(ids[2], ids[3], 2, 0)])
    [ranking] = pairwise_rankings(answers.generations(), answers.store.comparisons("run-1"), resamples=50)
    assert not ranking["connected"]
    test_rows = {name: [g for g in rows if g.example_id != "e0"] for name, rows in answers.generations().items()}
    [ranking] = pairwise_rankings(test_rows, answers.store.comparisons("run-1"), resamples=50)
    assert ranking["n_votes"] == 2
    assert pairwise_rankings(answers.generations(), []) == []
