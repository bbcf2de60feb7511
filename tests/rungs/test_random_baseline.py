"""random_baseline: labels drawn from the training distribution, scored without a model call."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from ladder.climb import climb, select_rungs
from ladder.eval.runner import evaluate
from ladder.rungs import BY_NAME, RungContext, parse_options
from ladder.task import load_task
from ladder.tracking.store import Store
from ladder.types import GenerationParams

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["billing"] * 6 + ["delivery"] * 3 + ["account"]


class NoModel:
    """The baseline must never call the model; any call here is a bug."""

    name = "none"

    def fingerprint(self, adapter=None):
        return "none"

    def generate(self, *a, **k):
        raise AssertionError("random_baseline called the model")

    def count_tokens(self, chat):
        raise AssertionError("random_baseline counted tokens")


def _labelled_task(folder: Path, rungs: str = ""):
    (folder / "data").mkdir(parents=True)
    train = [{"input": f"message {i}", "expected": label} for i, label in enumerate(LABELS)]
    evals = [{"id": f"e{i}", "input": f"new message {i}", "expected": LABELS[i % len(LABELS)]} for i in range(40)]
    for name, rows in (("train.jsonl", train), ("eval.jsonl", evals)):
        (folder / "data" / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "task.yaml").write_text("name: labels\ndata: {train: data/train.jsonl, eval: data/eval.jsonl}\n"
                                      "checks:\n  - {name: label, kind: exact, tag: knowledge}\n" + rungs)
    return load_task(folder / "task.yaml")


def _prepare(task, tmp_path, **options):
    rung = BY_NAME["random_baseline"]
    return rung.prepare(RungContext(task=task, backend=NoModel(), artifacts=tmp_path), parse_options(rung, options))


def test_answers_are_seeded_draws_of_the_training_labels(tmp_path: Path):
    task = _labelled_task(tmp_path / "t")
    candidate = _prepare(task, tmp_path)
    assert set(candidate.answers) == {ex.id for ex in task.eval}
    drawn = Counter(candidate.answers.values())
    assert set(drawn) <= set(LABELS) and drawn["billing"] > drawn["account"]  # 60% vs 10% of the training answers
    assert _prepare(task, tmp_path).answers == candidate.answers
    declared = _prepare(task, tmp_path, output_space=["yes", "no"])
    assert set(declared.answers.values()) == {"yes", "no"}


def test_evaluation_scores_the_carried_answers_without_the_model(tmp_path: Path):
    task = _labelled_task(tmp_path / "t")
    candidate = _prepare(task, tmp_path)
    seen: list[int] = []
    result = evaluate(candidate, task.eval, NoModel(), task.checks, GenerationParams(), on_progress=seen.append)
    assert sum(seen) == len(task.eval)
    for r in result.results:
        assert r.generation.text == candidate.answers[r.example.id]
        assert (r.generation.prompt_tokens, r.generation.completion_tokens, r.generation.latency_s) == (0, 0, 0.0)
        assert not r.generation.cached
        assert r.assessments[0].passed == (r.generation.text == r.example.expected)


def test_free_form_answers_have_no_baseline(tmp_path: Path):
    balance = load_task(ROOT / "examples/balance-shift/task.yaml")
    with pytest.raises(ValueError, match="free-form"):
        _prepare(balance, tmp_path)
    free = load_task(_write_without_rungs(tmp_path / "free", balance))
    assert "random_baseline" not in [r.name for r, _ in select_rungs(free)]  # left out of the default list
    assert [r.name for r, _ in select_rungs(free, ["random_baseline"])] == ["random_baseline"]  # asked for: kept
    labelled = _labelled_task(tmp_path / "l")
    assert [r.name for r, _ in select_rungs(labelled)][0] == "random_baseline"


def _write_without_rungs(folder: Path, task) -> Path:
    (folder / "data").mkdir(parents=True)
    rows = [{"input": ex.input, "expected": ex.expected} for ex in task.train]
    for name in ("train.jsonl", "eval.jsonl"):
        (folder / "data" / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "task.yaml").write_text("name: free\ndata: {train: data/train.jsonl, eval: data/eval.jsonl}\n"
                                      "checks:\n  - {name: a, kind: exact, tag: knowledge}\n")
    return folder / "task.yaml"


def test_a_climb_records_the_baseline_at_zero_cost(tmp_path: Path):
    task = _labelled_task(tmp_path / "t", "rungs:\n  random_baseline:\n")
    store = Store(tmp_path / "runs")
    result = climb(task, store, backend=NoModel(), teacher=None)
    assert [o.status for o in result.outcomes] == ["ok"]
    (row,) = store.rung_results(result.run_id)
    gens = store.generations(row.id)
    assert len(gens) == len(task.eval) and row.candidate["precomputed_answers"] == len(task.eval)
    assert all(g.prompt_tokens == g.completion_tokens == 0 and not g.cached for g in gens)
    assert result.cache_hits == result.cache_misses == 0
