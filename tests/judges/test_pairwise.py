"""Pairwise judges ask both orders; an inconsistent pair counts as a tie, and is counted. The
judge is a real HTTP server on 127.0.0.1 whose verdicts are scripted by the prompt's content."""

from __future__ import annotations

import json

from ladder.judges.run import compare_rungs
from ladder.report.judging import pairwise_summary
from ladder.scoring import pair_verdicts
from ladder.tracking.store import Store


def shown(prompt: str) -> tuple[str, str]:
    """The answers the judge saw as A and as B."""
    after_a = prompt.split("Answer A:\n<<<\n")[1]
    return after_a.split("\n>>>")[0], after_a.split("Answer B:\n<<<\n")[1].split("\n>>>")[0]


def test_both_orders_are_asked_and_an_inconsistent_pair_is_a_tie(judge_server, make_judge, stored_run, tmp_path):
    store = Store(tmp_path)
    ids = stored_run(store, {
        "instructed": [("1", "q1", "plain", None), ("2", "q2", "plain", None), ("3", "q3", "plain", None),
                       ("4", "q4", "plain", None), ("5", "q5", "plain", None)],
        "few_shot": [("1", "q1", "BETTER", None), ("2", "q2", "first-lover", None), ("3", "q3", "equal", None),
                     ("4", "q4", "garbage", None), ("5", "q5", "", "HTTP 500")],
    })

    def script(request):
        a, b = shown(judge_server.user_text(request))
        if "garbage" in (a, b):
            return 200, b"{not json"
        if "first-lover" in (a, b):  # position bias: always the first answer shown
            return judge_server.reply(json.dumps({"winner": "A", "reason": "first"}))
        if "equal" in (a, b):
            return judge_server.reply(json.dumps({"winner": "tie", "reason": "same"}))
        winner = "A" if a == "BETTER" else "B" if b == "BETTER" else "tie"
        return judge_server.reply(json.dumps({"winner": winner, "reason": "better"}))

    judge_server.script = script
    judge = make_judge(store, judge_server.model_spec(), name="ab", kind="pairwise", against="instructed",
                       retries=1)
    rows = store.rung_results("r1")
    # rows 1-4 are pairs (row 5's few_shot call failed: not compared), two orders each
    assert compare_rungs(judge, store, "r1", rows) == 8
    stored = store.comparisons("r1")
    gens = {r.rung: {g.example_id: g.id for g in store.generations(ids[r.rung])} for r in rows}
    assert [c.first_shown for c in stored] == ["a", "b"] * 4
    assert {c.source_kind for c in stored} == {"llm_judge"} and {c.source_name for c in stored} == {"ab"}
    by_example = {}
    for c in stored:
        example = next(k for k, v in gens["few_shot"].items() if v == c.a)
        assert c.b == gens["instructed"][example] and c.metadata["pair"] == f"{c.a}-{c.b}"
        by_example.setdefault(example, []).append(c)
    assert [c.winner for c in by_example["1"]] == ["a", "a"]  # BETTER wins both ways
    assert [c.winner for c in by_example["2"]] == ["a", "b"]  # the first shown wins: inconsistent
    assert [c.winner for c in by_example["3"]] == ["tie", "tie"]
    assert [c.winner for c in by_example["4"]] == [None, None] and all(
        c.error.startswith("judge_error: ") and c.metadata["attempts"] == 2 for c in by_example["4"])

    verdicts = {next(k for k, v in gens["few_shot"].items() if v == p.a): p for p in pair_verdicts(stored)}
    assert (verdicts["1"].winner, verdicts["1"].consistent) == ("a", True)
    assert (verdicts["2"].winner, verdicts["2"].consistent) == ("tie", False)
    assert (verdicts["3"].winner, verdicts["3"].consistent) == ("tie", True)
    assert verdicts["4"].winner is None and verdicts["4"].error.startswith("judge_error")

    rung_of = {gid: rung for rung, by in gens.items() for gid in by.values()}
    entries = [{"rung": r.rung, "evaluation_cost": {}} for r in rows]
    (row,) = pairwise_summary(stored, rung_of, entries)
    assert (row["rung"], row["against"], row["pairs"]) == ("few_shot", "instructed", 4)
    assert (row["wins"], row["losses"], row["ties"], row["inconsistent"], row["errors"]) == (1, 0, 2, 1, 1)
    assert abs(row["win_rate"] - 1 / 3) < 1e-9 and row["win_rate_ci"][0] < 1 / 3 < row["win_rate_ci"][1]
    # the pairs' cost is evaluation cost of the rung compared: 6 readable replies of 50 + 10 tokens
    cost = next(e for e in entries if e["rung"] == "few_shot")["evaluation_cost"]
    assert (cost["verdicts"], cost["prompt_tokens"], cost["completion_tokens"]) == (8, 300, 60)
