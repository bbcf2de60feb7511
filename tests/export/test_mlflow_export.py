"""`ladder export mlflow` into a real MLflow SQLite tracking store, read back with MLflow's own client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ladder.export.mlflow_export import export_run
from ladder.report import summarize
from ladder.tracking.store import RungRecord, Store
from ladder.types import Assessment, Example, ExampleResult, Generation

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra: pip install 'ladder[mlflow]'")
from mlflow.tracking import MlflowClient  # noqa: E402

CANARY = "sk-canary-mlflow-5d1c0b7e3a9f"
SPEC = {"name": "toy", "prices": {"currency": "USD", "input_per_1k": 0.5, "output_per_1k": 1.5, "train_per_hour": 2.0},
        "target": {"metric": "overall", "value": 0.75}, "volume": 1000, "seed": 0,
        "rungs": {"few_shot": {"k": 2}}}


def _rows(verdicts: list[tuple[bool, bool] | str]) -> list[ExampleResult]:
    rows = []
    for i, v in enumerate(verdicts):
        ex = Example(id=f"ex{i}", input=f"question {i}, with a comma", expected=f"answer {i}")
        if v == "error":
            rows.append(ExampleResult(ex, "[]", Generation("", 30, 0, 0.0, "error", error="timeout")))
            continue
        checks = tuple(Assessment(f"{tag}_check", tag, passed=p) for tag, p in zip(("form", "knowledge"), v))
        rows.append(ExampleResult(ex, "[]", Generation(f"output {i}", 30 + i, 5, 0.2), checks))
    return rows


def _fill(runs: Path, adapter: Path) -> str:
    """A climb as the store records it: three prompt rungs (one with a failed call), a skipped
    one and a fine-tune whose adapter folder exists."""
    from safetensors.numpy import save_file
    import numpy as np

    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 4}))
    save_file({"lora_A": np.arange(8, dtype=np.float32).reshape(2, 4)}, str(adapter / "adapter_model.safetensors"))
    T, F = True, False
    with Store(runs) as store:
        run_id = "20261201-000000-toy-abcd"
        store.start_run(run_id, "toy", "toy/task.yaml", "hash", SPEC, "local:tiny")
        store.add_rung_result(RungRecord(run_id, 0, "zero_shot", "prompt", {"description": "bare"}),
                              _rows([(T, T), (F, T), (T, F), (T, T)]))
        store.add_rung_result(RungRecord(run_id, 1, "few_shot", "prompt", {"description": "2 demos"}),
                              _rows([(T, T), "error", (T, T), (T, T)]))
        store.add_rung_result(RungRecord(run_id, 2, "rag", "prompt", {"description": "needs a corpus"},
                                         status="skipped"))
        store.add_rung_result(RungRecord(
            run_id, 3, "lora_sft", "finetune",
            {"description": "LoRA", "adapter": str(adapter), "options": {"rank": 4, "lora": {"alpha": 8}}},
            build_seconds=90.0, build_money=0.05, build_tokens=1234, build_notes="9 of 36 planned steps"),
            _rows([(T, T)] * 4))
        store.finish_run(run_id, "finished")
    return run_id


def _export(*args: str, cwd: Path, block_mlflow: bool = False) -> subprocess.CompletedProcess:
    """The `ladder export mlflow` command in a process of its own, with a canary key in its
    environment and MLflow's debug logging (the key must reach neither store, artifacts nor log)."""
    env = {**os.environ, "OPENAI_API_KEY": CANARY, "MLFLOW_LOGGING_LEVEL": "DEBUG", "COLUMNS": "200"}
    prelude = "import sys; sys.modules['mlflow'] = None; " if block_mlflow else ""
    code = prelude + "from ladder.cli import app; app(prog_name='ladder')"
    return subprocess.run([sys.executable, "-c", code, "export", "mlflow", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_export_reads_back_with_mlflow_client_and_replaces_on_reexport(tmp_path: Path):
    runs = tmp_path / "runs"
    run_id = _fill(runs, tmp_path / "adapters" / "abc123")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    with Store(runs) as store:  # the library call first; the command below
        export_run(store, run_id, uri)
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("toy")  # the task's name by default
    assert exp.artifact_location == (tmp_path / "mlartifacts").as_uri()
    first_parent = client.search_runs([exp.experiment_id], "tags.`mlflow.parentRunId` IS NULL")
    assert len(first_parent) == 1

    # the command, given the run folder, replaces the first export: one parent, one child per rung
    second = _export(str(runs / run_id), "--tracking-uri", uri, cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "replaced the earlier export" in second.stderr
    active = client.search_runs([exp.experiment_id], f"tags.`ladder.run_id` = '{run_id}'")
    parents = [r for r in active if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and parents[0].info.run_id != first_parent[0].info.run_id
    assert client.get_run(first_parent[0].info.run_id).info.lifecycle_stage == "deleted"
    parent = parents[0]
    children = {r.data.tags["ladder.rung"]: r for r in active if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert sorted(children) == ["few_shot", "lora_sft", "rag", "zero_shot"] and len(active) == 5

    assert parent.info.run_name == run_id and parent.info.status == "FINISHED"
    assert parent.data.params["model"] == "local:tiny" and parent.data.params["prices.input_per_1k"] == "0.5"
    with Store(runs) as store:
        summary = summarize(store, run_id)
    assert parent.data.tags["ladder.recommended_rung"] == summary["recommendation"]["rung"]
    recommended = next(r for r in summary["rungs"] if r["rung"] == summary["recommendation"]["rung"])
    assert parent.data.metrics["recommended_quality"] == pytest.approx(recommended["quality"])
    assert {f.path for f in client.list_artifacts(parent.info.run_id)} == {
        "summary.json", "frontier.png", "report.md", "report.html"}
    exported = json.loads(Path(client.download_artifacts(parent.info.run_id, "summary.json", str(tmp_path / "dl")))
                          .read_text())
    assert [r["rung"] for r in exported["rungs"]] == [r["rung"] for r in summary["rungs"]]

    by_rung = {r["rung"]: r for r in summary["rungs"]}
    for name, child in children.items():
        m, entry = child.data.metrics, by_rung[name]
        if entry["status"] != "ok":
            assert child.data.tags["ladder.status"] == "skipped" and "quality" not in m
            assert client.list_artifacts(child.info.run_id) == []
            continue
        assert m["quality"] == pytest.approx(entry["quality"])
        assert (m["quality_ci_low"], m["quality_ci_high"]) == pytest.approx(tuple(entry["quality_ci"]))
        assert m["quality_ci_low"] <= m["quality"] <= m["quality_ci_high"]
        assert m["cost_per_1k_requests"] == pytest.approx(entry["cost_per_1k_requests"]) and m["cost_per_1k_requests"] > 0
        for key in ("build_money", "prompt_tokens", "completion_tokens", "latency_s", "n_errors"):
            assert m[key] == pytest.approx(entry[key]), key
        table = Path(client.download_artifacts(child.info.run_id, "examples.csv", str(tmp_path / "dl" / name)))
        lines = table.read_text().splitlines()
        assert len(lines) == 1 + 4 and lines[0].startswith("example_id,split,input,expected,output,target")
    assert children["few_shot"].data.metrics["n_errors"] == 1
    assert children["few_shot"].data.params["options.k"] == "2"  # from task.yaml's rungs: (not recorded with it)
    lora = children["lora_sft"]
    assert lora.data.params["options.rank"] == "4" and lora.data.params["options.lora.alpha"] == "8"
    assert lora.data.metrics["build_money"] == 0.05 and lora.data.metrics["build_tokens"] == 1234
    assert lora.data.tags["mlflow.note.content"] == "LoRA\n\nbuild: 9 of 36 planned steps"
    assert children["zero_shot"].data.tags["mlflow.note.content"] == "bare"
    assert {f.path for f in client.list_artifacts(lora.info.run_id, "adapter")} == {
        "adapter/adapter_config.json", "adapter/adapter_model.safetensors"}
    got = client.download_artifacts(lora.info.run_id, "adapter/adapter_model.safetensors", str(tmp_path / "dl" / "a"))
    assert Path(got).read_bytes() == (tmp_path / "adapters" / "abc123" / "adapter_model.safetensors").read_bytes()

    # canary: the key in the exporting process's environment is nowhere in the tracking store or its artifacts
    for path in [tmp_path / "mlflow.db", *(tmp_path / "mlartifacts").rglob("*")]:
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
    assert CANARY not in second.stdout + second.stderr


def test_export_without_mlflow_names_the_extra(tmp_path: Path):
    runs = tmp_path / "runs"
    run_id = _fill(runs, tmp_path / "adapter")
    r = _export(run_id, "--runs", str(runs), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}", cwd=tmp_path,
                block_mlflow=True)
    assert r.returncode == 2 and "pip install 'ladder[mlflow]'" in r.stderr, r.stderr[-2000:]
    assert not (tmp_path / "m.db").exists()


def test_export_of_an_unknown_run_fails_by_name(tmp_path: Path):
    runs = tmp_path / "runs"
    _fill(runs, tmp_path / "adapter")
    r = _export("no-such-run", "--runs", str(runs), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}", cwd=tmp_path)
    assert r.returncode == 2 and "no-such-run" in r.stderr
