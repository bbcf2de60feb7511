"""A small climb with the real local model as a reference judge: every answered row gets a
verdict or a judge_error, and the summary shows judge coverage and evaluation cost."""

from __future__ import annotations

import pytest

from ladder.climb import climb, select_rungs
from ladder.report import summarize
from ladder.task import load_task
from ladder.tracking.store import Store


@pytest.mark.slow
def test_a_climb_with_the_local_model_as_reference_judge(backend, tiny_task, tmp_path):
    tiny_task.write_text(tiny_task.read_text() + "\njudges:\n  - {name: equivalent, kind: reference, retries: 0, "
                         "max_new_tokens: 24}\n")
    task = load_task(tiny_task)
    store = Store(tmp_path / "runs")
    result = climb(task, store, backend=backend, rungs=select_rungs(task, ["zero_shot"]))
    (row,) = store.rung_results(result.run_id)
    gens = store.generations(row.id)
    answered = [g for g in gens if g.error is None]
    verdicts = [a for g in answered for a in g.assessments if a.name == "equivalent"]
    assert len(verdicts) == len(answered) == len(task.eval)  # one per answered row
    for v in verdicts:  # a verdict or a judge_error, each with its prompt, raw reply and cost
        assert (v.error is None) != (v.passed is None) and v.source_kind == "llm_judge"
        assert v.metadata["prompt"][-1]["content"].count("Answer to judge") == 1 and v.cost.prompt_tokens > 0
        assert v.metadata["model"] == backend.fingerprint()

    (entry,) = summarize(store, result.run_id)["rungs"]
    judged = entry["judges"]["equivalent"]
    given = sum(v.error is None for v in verdicts)
    assert (judged["verdicts"], judged["errors"]) == (given, len(verdicts) - given)
    assert entry["judge_coverage"] == given / len(answered)
    assert entry["evaluation_cost"]["prompt_tokens"] == sum(v.cost.prompt_tokens for v in verdicts)
    assert entry["evaluation_cost"]["seconds"] > 0

    again = climb(task, store, backend=backend, rungs=select_rungs(task, ["zero_shot"]))
    assert again.cache_misses == 0  # answers and verdicts alike come back from the call cache
