"""Running the task's judges in a climb: a rung's answers after its eval, pairs after every rung.

A row whose model call failed gets no verdict (it is already an error). Verdicts are stored as
they are given (`Store.add_assessments`, `Store.add_comparisons`), so a killed climb keeps them,
and a re-run reads every judge call back from the call cache.
"""

from __future__ import annotations

from typing import Collection, Sequence

from ladder.events import JudgeProgress, OnEvent, ignore
from ladder.judges.answer import Answer, AnswerJudge
from ladder.judges.pairwise import Pair, PairwiseJudge
from ladder.tracking.store import GenerationRow, RungRow, Store

CHUNK = 16  # answers per batch put to a judge: progress is reported (and verdicts stored) per chunk


def judge_rung(judges: Sequence[AnswerJudge], store: Store, rung: RungRow, on_event: OnEvent = ignore,
               judged: Collection[int] = ()) -> int:
    """Put every answered row of `rung` to each judge and store the verdicts; returns how many.
    `judged`: generation ids the judges have read already (a paused rung's, before it finished)."""
    rows = [g for g in store.generations(rung.id) if g.error is None and g.id not in judged]
    stored = 0
    for judge in judges:
        on_event(JudgeProgress(rung.rung, judge.name, 0, len(rows)))
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            verdicts = judge.assess([Answer(g.input, g.expected, g.output) for g in chunk])
            for g, verdict in zip(chunk, verdicts):
                store.add_assessments(g.id, [verdict])
            stored += len(verdicts)
            on_event(JudgeProgress(rung.rung, judge.name, start + len(chunk), len(rows)))
    return stored


def pairs_against(store: Store, rungs: Sequence[RungRow], against: str) -> dict[str, list[Pair]]:
    """For each ok rung other than `against`, the pairs (its answer, the `against` rung's answer)
    on every example both answered. Empty when `against` produced no results."""
    base = next((r for r in rungs if r.rung == against and r.status == "ok"), None)
    if base is None:
        return {}
    theirs = {g.example_id: g for g in store.generations(base.id) if g.error is None}
    out: dict[str, list[Pair]] = {}
    for row in rungs:
        if row is base or row.status != "ok":
            continue
        mine: list[GenerationRow] = [g for g in store.generations(row.id) if g.error is None
                                     and g.example_id in theirs]
        out[row.rung] = [Pair(g.id, theirs[g.example_id].id, g.input, g.expected, g.output,
                              theirs[g.example_id].output) for g in mine]
    return out


def compare_rungs(judge: PairwiseJudge, store: Store, run_id: str, rungs: Sequence[RungRow],
                  on_event: OnEvent = ignore) -> int:
    """Every ok rung against the judge's `against` rung, both orders, stored; returns how many
    comparisons were stored (0 when the `against` rung has no results)."""
    stored = 0
    for rung, pairs in pairs_against(store, rungs, judge.spec.against or "").items():
        label = f"{rung} vs {judge.spec.against}"
        on_event(JudgeProgress(label, judge.name, 0, len(pairs)))
        for start in range(0, len(pairs), CHUNK):
            chunk = pairs[start:start + CHUNK]
            stored += len(store.add_comparisons(run_id, judge.compare(chunk)))
            on_event(JudgeProgress(label, judge.name, start + len(chunk), len(pairs)))
    return stored
