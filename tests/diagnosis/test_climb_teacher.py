"""The climb asks the `teacher:` of task.yaml about the knowledge failures, through the cache."""

from __future__ import annotations

from ladder.climb import climb, select_rungs
from ladder.diagnosis import diagnose
from ladder.scoring import tag_result
from ladder.events import EvalProgress, RungFinished, RungStarted, Status
from ladder.report import summarize
from ladder.task import load_task
from ladder.tracking.store import Store


def test_teacher_from_task_yaml_answers_the_knowledge_failures(backend, tiny_task, tmp_path):
    # The teacher is the task's own model: it answers every prompt exactly as the student did
    # (from the call cache), so every knowledge failure it is asked about is "teacher wrong too".
    tiny_task.write_text(tiny_task.read_text() + "\nteacher: {backend: local, name: smollm2-135m-instruct, "
                         "max_examples: 2, prices: {input_per_1k: 0.01, output_per_1k: 0.02}}\n")
    task = load_task(tiny_task)
    store = Store(tmp_path / "runs")
    events: list = []
    result = climb(task, store, backend=backend, rungs=select_rungs(task, ["zero_shot"]), on_event=events.append)
    # the climb tells its listener what happened, in order, and writes nothing itself
    assert isinstance(events[0], RungStarted) and events[0].rung == "zero_shot"
    evals = [e for e in events if isinstance(e, EvalProgress)]
    assert evals[0].done == 0 and evals[-1].done == evals[-1].total == len(task.eval)
    (finished,) = [e for e in events if isinstance(e, RungFinished)]
    assert finished.outcome == result.outcomes[0] and finished.outcome.status == "ok"
    assert any(isinstance(e, Status) and e.message.startswith("asking the teacher") for e in events)
    assert events.index(finished) < max(i for i, e in enumerate(events) if isinstance(e, Status))
    rows = {r.rung: r for r in store.rung_results(result.run_id)}
    assert set(rows) == {"zero_shot", "zero_shot:teacher"} and rows["zero_shot:teacher"].kind == "teacher"
    failures = [g for g in store.generations(rows["zero_shot"].id) if tag_result(g, "knowledge") is False]
    assert failures, "the zero-shot rung should miss some numbers on this task"
    asked = store.generations(rows["zero_shot:teacher"].id)
    assert len(asked) == min(2, len(failures))  # max_examples caps the teacher's calls
    assert [g.output for g in asked] == [g.output for g in failures[: len(asked)]]
    assert all(g.cached for g in asked)  # the same model and prompt: answered from the cache
    assert rows["zero_shot:teacher"].build_money > 0  # costed at the teacher's prices

    (d,) = diagnose(store, result.run_id)
    shown = {e.example_id: (cls, e.evidence) for cls, exs in d.examples.items() for e in exs}
    for g in failures[: len(asked)]:  # each asked failure carries the teacher's verdict as evidence
        cls, evidence = shown[g.example_id]
        assert "which fails the knowledge checks too" in evidence
        assert cls == ("form_and_knowledge" if tag_result(g, "form") is False else "knowledge_teacher_wrong")
    summary = summarize(store, result.run_id)
    assert [r["rung"] for r in summary["rungs"]] == ["zero_shot"]
    assert summary["diagnosis"][0]["teacher_asked"] == len(asked)
