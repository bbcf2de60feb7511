"""remote_sft: a managed fine-tune on the task's remote endpoint enters the climb like a local one:
its build cost is trained tokens x the endpoint's train_per_1k, it answers the eval as its ft:
model id, and a second climb reuses the job instead of paying again. Against a real `ladder
serve` subprocess serving the tiny model (tests/training/tiny.py), so the job trains in
milliseconds; a real climb and store in-process."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest

from ladder.climb import climb
from ladder.serve.launch import running_server
from ladder.task import load_task
from ladder.tracking.store import Store

pytestmark = pytest.mark.slow
PRICE = 0.02  # per 1K trained tokens, set for the tiny model in the test's endpoints file


def write_task(folder: Path, base_url: str, model: str) -> Path:
    (folder / "data").mkdir(parents=True)
    train = [{"messages": [{"role": "user", "content": f"Code word {n}?"},
                           {"role": "assistant", "content": f"ZEBRA-{n}"}]} for n in range(10)]
    (folder / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train))
    evals = [{"input": f"Code word {n}?", "expected": f"ZEBRA-{n}"} for n in (20, 21)]
    (folder / "data" / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in evals))
    (folder / "task.yaml").write_text(
        f"model: {{backend: openai, endpoint: ladder-serve, base_url: '{base_url}', name: '{model}'}}\n"
        "data: {train: data/train.jsonl, eval: data/eval.jsonl}\n"
        "generation: {max_new_tokens: 4}\n"
        "checks: [{name: code, kind: exact, tag: form}]\n"
        "target: {metric: form, value: 0.9}\n"
        "rungs:\n  remote_sft: {epochs: 1, batch_size: 10, suffix: climb, poll_s: 0.2}\n")
    return folder / "task.yaml"


def test_remote_finetune_cost_enters_the_climb(tmp_path, tiny_model_dir, monkeypatch):
    model = str(tiny_model_dir)
    endpoints = tmp_path / "endpoints.yaml"
    endpoints.write_text(f"ladder-serve:\n  prices:\n    '{model}': {{train_per_1k: {PRICE}}}\n")
    monkeypatch.setenv("LADDER_ENDPOINTS", str(endpoints))
    with running_server("--data-dir", str(tmp_path / "serve"), "--model", model, "--rank", "4",
                        log=tmp_path / "server.log") as url:
        task = load_task(write_task(tmp_path / "task", url, model))
        with Store(tmp_path / "runs") as store:
            first = climb(task, store, all_rungs=True)
            second = climb(task, store, all_rungs=True)
            rows = [store.rung_results(r.run_id)[0] for r in (first, second)]
            gens = store.generations(rows[0].id)
        (job,) = openai.OpenAI(base_url=url, api_key="unused", max_retries=0).fine_tuning.jobs.list().data
    built, reused = rows
    assert built.status == "ok" and built.kind == "finetune" and not built.build_reused
    assert job.status == "succeeded" and job.trained_tokens > 0
    assert built.build_tokens == job.trained_tokens
    assert built.build_money == pytest.approx(job.trained_tokens / 1000 * PRICE)
    assert built.candidate["adapter"] == job.fine_tuned_model
    assert len(gens) == 2 and all(g.error is None and g.response_model == job.fine_tuned_model for g in gens)
    # the second climb found the job's result: nothing trained or paid again, the same cost recorded
    assert reused.build_reused and reused.build_money == built.build_money
