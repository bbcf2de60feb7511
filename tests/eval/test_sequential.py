"""Sequential evaluation: looks at growing shares of the rows, a pause once a rung cannot meet
the target, and its other rows asked only when no rung meets it and it might be the best."""

from __future__ import annotations

import json
from pathlib import Path

from ladder.eval.sequential import cannot_meet, look_order, look_sizes, looks_that_could_stop, worse_than
from ladder.types import Candidate


def test_a_quarter_first_then_looks_of_at_least_20_rows_and_small_sets_are_scored_whole() -> None:
    assert look_sizes(200) == [50, 100, 200]
    assert look_sizes(80) == [20, 40, 80]
    assert look_sizes(60) == [15, 60]  # 30 would add only 15 rows to the first look
    assert look_sizes(50) == [13, 50]  # not 13, 25, 50: a batch of 12 rows wastes a CPU
    assert look_sizes(40) == [10, 40]  # a first look of at least 10 rows
    assert look_sizes(39) == [39] and look_sizes(30) == [30] and look_sizes(5) == [5]  # under 40 rows: one look
    order = look_order([f"e{i}" for i in range(60)], seed=0)
    assert sorted(order) == list(range(60)) and order != list(range(60))
    assert look_order([f"e{i}" for i in range(60)], seed=0) == order


def outcomes(passed: int, n: int, prefix: str = "e") -> dict[str, bool]:
    return {f"{prefix}{i}": i < passed for i in range(n)}


def test_a_rung_pauses_when_it_cannot_meet_the_target() -> None:
    reason = cannot_meet(outcomes(2, 20), target=0.9, looks=3)
    assert reason is not None and "20 rows" in reason and "90.0%" in reason
    assert cannot_meet(outcomes(0, 20), target=0.9, looks=3) is not None
    # bad, but the target is low enough that 2 of 20 does not rule it out (upper bound above 30%)
    assert cannot_meet(outcomes(2, 20), target=0.3, looks=3) is None
    assert cannot_meet(outcomes(18, 20), target=0.9, looks=3) is None
    assert cannot_meet({}, target=0.9, looks=3) is None


def test_worse_than_the_best_needs_a_one_sided_mcnemar_test() -> None:
    reason = worse_than(outcomes(2, 20), ("few_shot", outcomes(18, 20)), looks=3)
    assert reason is not None and "few_shot" in reason and "0 won, 16 lost" in reason
    # as good as the best on these rows: it might still beat it
    assert worse_than(outcomes(18, 20), ("b", outcomes(18, 20)), looks=3) is None
    # a narrow loss is not evidence enough: 7 vs 10 of 20 leaves the bound above 1/2
    assert worse_than(outcomes(7, 20), ("b", outcomes(10, 20)), looks=3) is None
    # only the rows both answered count
    assert worse_than(outcomes(0, 20), ("b", outcomes(20, 20, prefix="x")), looks=3) is None


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

    def __init__(self, name: str, right: int, heldout_pass_rate: float | None = None, retrieves: bool = False):
        self.name, self.right, self.heldout_pass_rate, self.retrieves = name, right, heldout_pass_rate, retrieves

    def prepare(self, ctx, options):
        from ladder.rungs.prompt import ChatPrompt
        from ladder.types import Retrieval, RetrievedChunk

        answers = {ex.id: ex.expected if int(ex.id[1:]) < self.right else "wrong" for ex in ctx.task.eval}
        # as a rag rung records them: what was retrieved for every eval row, at preparation
        retrievals = {ex.id: Retrieval(ex.input, 1, (RetrievedChunk(f"c{ex.id}", "doc.md", 0, 9, 1.0, True),),
                                       gold=("doc.md",), recall=1.0, reciprocal_rank=1.0)
                      for ex in ctx.task.eval} if self.retrieves else {}
        return Candidate(rung=self.name, kind="prompt", prompt=ChatPrompt(), answers=answers,
                         heldout_pass_rate=self.heldout_pass_rate, retrievals=retrievals)


def _task(folder: Path, n: int = 80, target: float = 0.9):
    from ladder.task import load_task

    (folder / "data").mkdir(parents=True)
    rows = [{"id": f"e{i}", "input": f"q{i}", "expected": f"a{i}"} for i in range(n)]
    (folder / "data" / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "task.yaml").write_text("name: seq\ndata: {eval: data/eval.jsonl}\n"
                                      "checks:\n  - {name: same, kind: exact, tag: knowledge}\n"
                                      f"target: {{metric: knowledge, value: {target}}}\n")
    return load_task(folder / "task.yaml")


def _climb(task, folder: Path, rungs, **kwargs):
    from ladder.climb import climb
    from ladder.events import EvalProgress
    from ladder.tracking.store import Store

    store, seen = Store(folder), []
    run = climb(task, store, NoModel(), rungs=[(rung, None) for rung in rungs], all_rungs=True,
                on_event=lambda e: seen.append((e.rung, e.done)) if isinstance(e, EvalProgress) else None, **kwargs)
    return store, {r.rung: r for r in store.rung_results(run.run_id)}, seen, run


def test_a_rung_that_cannot_meet_the_target_stops_after_a_look_while_another_meets_it(tmp_path: Path) -> None:
    from ladder.report.summary import summarize

    task = _task(tmp_path / "t")
    # the hopeless rung comes first: with no rung before it, it still pauses
    store, rows, _, run = _climb(task, tmp_path / "runs", [Answers("hopeless", right=4), Answers("good", right=76)])
    good, hopeless = rows["good"], rows["hopeless"]
    assert good.eval_stop is None and len(store.generations(good.id)) == 80
    assert hopeless.eval_stop is not None and "target 90.0%" in hopeless.eval_stop
    scored = store.generations(hopeless.id)
    assert len(scored) == 20  # the first look, never finished: good meets the target
    ids = [g.example_id for g in scored]
    assert ids == sorted(ids, key=lambda i: int(i[1:]))  # stored in eval order
    assert ids != [f"e{i}" for i in range(20)]  # a seeded sample of the rows, not the first 20
    entry = {r["rung"]: r for r in summarize(store, run.run_id)["rungs"]}["hopeless"]
    assert entry["n"] == 20 and entry["eval_stop"] == hopeless.eval_stop

    _, whole, _, _ = _climb(task, tmp_path / "runs", [Answers("hopeless", right=4), Answers("good", right=76)],
                            exhaustive=True)
    assert all(r.eval_stop is None for r in whole.values())
    assert all(len(store.generations(r.id)) == 80 for r in whole.values())


def test_with_no_rung_meeting_the_target_the_paused_rungs_that_might_be_best_are_finished(tmp_path: Path) -> None:
    task = _task(tmp_path / "t")
    # 50% and 55%: both pause at the first look (a 90% target), and neither can be shown worse
    store, rows, seen, _ = _climb(task, tmp_path / "runs",
                                  [Answers("half", right=40), Answers("more", right=44, retrieves=True)])
    for name in ("half", "more"):
        assert rows[name].eval_stop is None, rows[name].eval_stop
        assert sorted(g.example_id for g in store.generations(rows[name].id)) == sorted(f"e{i}" for i in range(80))
        assert [done for rung, done in seen if rung == name] == [0, 20, 80]  # paused at 20, then finished
    # a finished retrieval rung keeps what was retrieved for every row, not only its first look's
    assert set(store.retrievals(rows["more"].id)) == {g.id for g in store.generations(rows["more"].id)}
    assert rows["more"].eval_seconds >= 0


def test_a_paused_rung_shown_worse_than_the_best_stays_paused_with_both_reasons(tmp_path: Path) -> None:
    task = _task(tmp_path / "t")
    store, rows, _, _ = _climb(task, tmp_path / "runs", [Answers("weak", right=4), Answers("half", right=48)])
    assert rows["half"].eval_stop is None and len(store.generations(rows["half"].id)) == 80
    weak = rows["weak"]
    assert len(store.generations(weak.id)) == 20
    assert "target 90.0%" in weak.eval_stop and "worse than half" in weak.eval_stop


def test_looks_no_outcome_could_stop_at_are_merged_into_the_next(tmp_path: Path) -> None:
    order = look_order([f"e{i}" for i in range(80)], seed=0)
    # a 90% target: failing the first 20 rows would pause a rung, so every look stays
    assert looks_that_could_stop(_task(tmp_path / "high"), order, [20, 40, 80]) == [20, 40, 80]
    # a 10% target: 0 of 20 still allows 18.5%, 0 of 40 only 9.7%, so the first look is merged
    assert looks_that_could_stop(_task(tmp_path / "low", target=0.1), order, [20, 40, 80]) == [40, 80]
    # a 5% target: no look could pause a rung, so its rows go in one batch
    assert looks_that_could_stop(_task(tmp_path / "lower", target=0.05), order, [20, 40, 80]) == [80]


def test_a_rung_no_look_could_pause_is_scored_in_one_look(tmp_path: Path) -> None:
    task = _task(tmp_path / "t", target=0.05)
    _, rows, seen, _ = _climb(task, tmp_path / "runs", [Answers("none_right", right=0)])
    assert [done for rung, done in seen if rung == "none_right"] == [0, 80]  # not 0, 20, 40, 80
    assert rows["none_right"].eval_stop is None


def test_a_build_that_passed_its_held_out_items_at_the_target_is_scored_in_one_look(tmp_path: Path) -> None:
    task = _task(tmp_path / "t")  # a 90% target
    rungs = [Answers("undertrained", right=4, heldout_pass_rate=0.5), Answers("trained", right=76, heldout_pass_rate=0.95)]
    store, rows, seen, _ = _climb(task, tmp_path / "runs", rungs)
    # looks are decided before any eval row: the held-out rate said it would not pause, so it is not asked to
    assert [done for rung, done in seen if rung == "trained"] == [0, 80] and rows["trained"].eval_stop is None
    assert [done for rung, done in seen if rung == "undertrained"] == [0, 20]
    assert len(store.generations(rows["undertrained"].id)) == 20
