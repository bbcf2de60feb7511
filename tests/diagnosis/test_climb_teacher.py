"""The climb asks the `teacher:` of task.yaml about the knowledge failures, through the cache."""

from __future__ import annotations

from rich.console import Console

from ladder.climb import climb
from ladder.diagnosis import diagnose
from ladder.scoring import tag_result
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
    result = climb(task, store, backend=backend, only=["zero_shot"], console=Console(quiet=True))
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
