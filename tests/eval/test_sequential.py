"""Sequential evaluation: looks at growing shares of the rows, and a stop only when a rung can
neither meet the target nor beat the best rung so far."""

from __future__ import annotations

import json
from pathlib import Path

from ladder.eval.sequential import judge_look, look_order, look_sizes, looks_that_could_stop
from ladder.types import Candidate


def test_looks_grow_to_every_row_and_small_sets_are_scored_whole() -> None:
    assert look_sizes(200) == [50, 100, 200]
    assert look_sizes(60) == [20, 30, 60]  # the first look has at least 20 rows
    assert look_sizes(39) == [20, 39]
    assert look_sizes(20) == [20] and look_sizes(5) == [5]
    order = look_order([f"e{i}" for i in range(60)], seed=0)
    assert sorted(order) == list(range(60)) and order != list(range(60))
    assert look_order([f"e{i}" for i in range(60)], seed=0) == order


def outcomes(passed: int, n: int, prefix: str = "e") -> dict[str, bool]:
    return {f"{prefix}{i}": i < passed for i in range(n)}


def test_a_rung_stops_only_when_it_can_neither_meet_the_target_nor_beat_the_best() -> None:
    best = ("few_shot", outcomes(18, 20))
    # 2 of 20 against a 90% target and a rung passing 18 of the same rows: both claims hold
    reason = judge_look(outcomes(2, 20), target=0.9, looks=3, best=best)
    assert reason is not None and "few_shot" in reason and "20 rows" in reason
    # as good as the best on these rows: it might still beat it, so it goes on
    assert judge_look(outcomes(18, 20), target=0.99, looks=3, best=best) is None
    # bad, but the target is low enough that 2 of 20 does not rule it out... (upper bound above 25%)
    assert judge_look(outcomes(2, 20), target=0.3, looks=3, best=best) is None
    # no rung so far to beat: never stopped
    assert judge_look(outcomes(0, 20), target=0.9, looks=3, best=None) is None
    # a narrow loss to the best is not evidence enough: 7 vs 10 of 20 leaves the McNemar bound above 1/2
    assert judge_look(outcomes(7, 20), target=0.9, looks=3, best=("b", outcomes(10, 20))) is None


def test_no_scored_rows_stop_nothing() -> None:
    assert judge_look({}, target=0.9, looks=3, best=("b", outcomes(20, 20))) is None


class NoModel:
    """Rungs here carry their answers: any model call would be a bug."""

    name = "none"

    def fingerprint(self, adapter=None):
        return "none"

    def generate(self, *a, **k):
        raise AssertionError("called the model")

    def count_tokens(self, chat):
        return 1


class Answers:
    """A rung whose answers are fixed: right on the first `right` eval rows (by id), wrong after."""

    kind = "prompt"

    def __init__(self, name: str, right: int):
        self.name, self.right = name, right

    def prepare(self, ctx, options):
        from ladder.rungs.prompt import ChatPrompt

        answers = {ex.id: ex.expected if int(ex.id[1:]) < self.right else "wrong" for ex in ctx.task.eval}
        return Candidate(rung=self.name, kind="prompt", prompt=ChatPrompt(), answers=answers)


def _task(folder: Path, n: int = 80):
    from ladder.task import load_task

    (folder / "data").mkdir(parents=True)
    rows = [{"id": f"e{i}", "input": f"q{i}", "expected": f"a{i}"} for i in range(n)]
    (folder / "data" / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "task.yaml").write_text("name: seq\ndata: {eval: data/eval.jsonl}\n"
                                      "checks:\n  - {name: same, kind: exact, tag: knowledge}\n"
                                      "target: {metric: knowledge, value: 0.9}\n")
    return load_task(folder / "task.yaml")


def test_the_climb_stops_a_hopeless_rung_and_says_why_exhaustive_scores_every_row(tmp_path: Path) -> None:
    from ladder.climb import climb
    from ladder.report.summary import summarize
    from ladder.tracking.store import Store

    task = _task(tmp_path / "t")
    rungs = [(Answers("good", right=76), None), (Answers("hopeless", right=4), None)]
    store = Store(tmp_path / "runs")
    run = climb(task, store, NoModel(), rungs=rungs, all_rungs=True)
    good, hopeless = store.rung_results(run.run_id)
    assert good.eval_stop is None and len(store.generations(good.id)) == 80
    assert hopeless.eval_stop is not None and "good" in hopeless.eval_stop
    scored = store.generations(hopeless.id)
    assert len(scored) == 20  # the first look
    ids = [g.example_id for g in scored]
    assert ids == sorted(ids, key=lambda i: int(i[1:]))  # stored in eval order
    assert ids != [f"e{i}" for i in range(20)]  # a seeded sample of the rows, not the first 20
    entry = {r["rung"]: r for r in summarize(store, run.run_id)["rungs"]}["hopeless"]
    assert entry["n"] == 20 and entry["eval_stop"] == hopeless.eval_stop

    whole = climb(task, store, NoModel(), rungs=rungs, all_rungs=True, exhaustive=True)
    assert all(r.eval_stop is None and len(store.generations(r.id)) == 80 for r in store.rung_results(whole.run_id))


def test_looks_no_outcome_could_stop_at_are_merged_into_the_next(tmp_path: Path) -> None:
    task = _task(tmp_path / "t")  # 80 rows: looks at 20, 40 and 80
    order = look_order([ex.id for ex in task.eval], task.spec.seed)
    ids = [ex.id for ex in task.eval]
    # no best rung, or one that passed no row: no outcome can show this rung worse, so one look
    assert looks_that_could_stop(task, order, [20, 40, 80], None) == [80]
    assert looks_that_could_stop(task, order, [20, 40, 80], ("b", {i: False for i in ids})) == [80]
    # a best rung that passed every row: failing the first 20 would stop this one, so every look stays
    assert looks_that_could_stop(task, order, [20, 40, 80], ("b", {i: True for i in ids})) == [20, 40, 80]
    # passes on only 3 of the first look's rows cannot make the McNemar bound fall below 1/2 there
    first = {ids[i] for i in order[:20]}
    few = {i: i in first and sum(1 for j in sorted(first) if j <= i) <= 3 for i in ids}
    assert sum(few.values()) == 3
    assert looks_that_could_stop(task, order, [20, 40, 80], ("b", few)) == [80]


def test_a_rung_behind_one_that_passed_nothing_is_scored_in_one_look(tmp_path: Path) -> None:
    from ladder.climb import climb
    from ladder.events import EvalProgress
    from ladder.tracking.store import Store

    task = _task(tmp_path / "t")
    rungs = [(Answers("none_right", right=0), None), (Answers("few_right", right=4), None)]
    seen: list[tuple[str, int]] = []
    climb(task, Store(tmp_path / "runs"), NoModel(), rungs=rungs, all_rungs=True,
          on_event=lambda e: seen.append((e.rung, e.done)) if isinstance(e, EvalProgress) else None)
    assert [done for rung, done in seen if rung == "few_right"] == [0, 80]  # not 20, 40, 80
