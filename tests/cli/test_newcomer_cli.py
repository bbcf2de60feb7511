"""A newcomer's first climbs, end to end on the real model: a task.yaml with only `data:` and
`model:`, and one with a check of their own (kind: python)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ladder.rungs import MAIN_LADDER

ROOT = Path(__file__).resolve().parents[2]
ROWS = [{"input": "What is 2 + 2? Answer with a number only.", "expected": "4"},
        {"input": "What is the capital of France? Answer with one word.", "expected": "Paris"},
        {"input": "Is water wet? Answer yes or no.", "expected": "yes"}]


def ladder(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "ladder.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def write_eval(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))


@pytest.mark.slow
def test_a_task_with_only_data_and_model_climbs_zero_shot_and_skips_the_rest_with_reasons(tmp_path: Path):
    write_eval(tmp_path / "first")
    (tmp_path / "first" / "task.yaml").write_text("data: {eval: eval.jsonl}\nmodel: {backend: local}\n")
    r = ladder("climb", "first/task.yaml", "--runs-dir", "runs", cwd=tmp_path)
    assert r.returncode in (0, 1), r.stderr[-3000:]
    summary = json.loads((tmp_path / r.stdout.split("run: ")[1].split()[0] / "summary.json").read_text())
    status = {row["rung"].split("(")[0]: row["status"] for row in summary["rungs"]}
    # free-form answers: the random baseline has no label set to draw from and is left out
    assert status == {"zero_shot": "ok", **{n: "skipped" for n in MAIN_LADDER if n not in ("zero_shot", "random_baseline")}}
    assert summary["run"]["task_name"] == "first"
    # The table's notes say why each rung was skipped.
    assert "instructed: skipped: instructed needs `prompts.instructions` in task.yaml" in r.stdout
    assert "lora_sft: skipped: lora_sft needs training examples: set `data.train` in task.yaml" in r.stdout
    assert "): skipped: rag needs a `corpus:` folder of documents in task.yaml" in r.stdout  # rag(hybrid,...)


CHECKS_PY = '''
def number_or_word(output, reference, example):
    words = output.split()
    if not words:
        return {"pass": False, "score": 0.0, "reason": "empty answer"}
    return {"pass": len(words) <= 3, "score": 1 / len(words), "reason": f"{len(words)} words for {example.id}"}

def explodes(output, reference, example):
    raise RuntimeError("the metric broke")
'''


@pytest.mark.slow
def test_a_python_check_from_the_task_folder_runs_per_answer_and_its_errors_stay_per_row(tmp_path: Path):
    write_eval(tmp_path / "mine")
    (tmp_path / "mine" / "my_metrics.py").write_text(CHECKS_PY)
    (tmp_path / "mine" / "task.yaml").write_text(
        "data: {eval: eval.jsonl}\ngeneration: {max_new_tokens: 12}\nrungs: {zero_shot: }\nchecks:\n"
        "  - {name: short, kind: python, tag: form, function: 'my_metrics:number_or_word'}\n"
        "  - {name: broken, kind: python, tag: knowledge, function: 'my_metrics:explodes'}\n")
    r = ladder("climb", "mine/task.yaml", "--runs-dir", "runs", "--no-report", cwd=tmp_path)
    assert r.returncode in (0, 1), r.stderr[-3000:]
    from ladder.tracking.store import Store

    store = Store(tmp_path / "runs")
    (run,) = store.runs()
    (row,) = store.rung_results(run["id"])
    gens = store.generations(row.id)
    assert len(gens) == len(ROWS)
    for g in gens:
        short = next(a for a in g.assessments if a.name == "short")
        n = len(g.output.split())
        assert short.passed == (0 < n <= 3) and short.error is None
        assert short.rationale == (f"{n} words for {g.example_id}" if n else "empty answer")
        broken = next(a for a in g.assessments if a.name == "broken")
        assert broken.passed is None and broken.error == "RuntimeError: the metric broke"
