"""The `ladder` command end to end, as a user runs it: real processes, real model, real files."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def ladder(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "ladder.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def test_help_for_every_command(tmp_path):
    for args in ([], ["climb"], ["report"], ["runs"], ["rungs"], ["data"], ["data", "check"],
                 ["recommend"], ["export"], ["export", "mlflow"]):
        r = ladder(*args, "--help", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert "Usage" in r.stdout
    # help is markdown (a docstring's lines rewrap to the terminal): nothing in it may read as markup
    assert "runs/<run id>" in ladder("report", "--help", cwd=tmp_path).stdout
    assert "a * marks the main ladder" in " ".join(ladder("rungs", "--help", cwd=tmp_path).stdout.split())


@pytest.mark.slow
def test_climb_then_cached_rerun_then_report(tiny_task: Path, tmp_path: Path):
    runs = tmp_path / "runs"
    first = ladder("climb", str(tiny_task), "--runs-dir", str(runs), "--all", cwd=tmp_path)
    assert first.returncode in (0, 1), first.stderr[-3000:]
    run_dir = Path(first.stdout.split("run: ")[1].split()[0])
    for name in ("report.html", "report.md", "frontier.png", "summary.json"):
        assert (run_dir / name).stat().st_size > 0, name
    summary = json.loads((run_dir / "summary.json").read_text())
    # exit code for CI: 0 when the recommended rung meets the target, 1 when not
    assert first.returncode == (0 if summary["recommendation"]["meets_target"] else 1)
    assert "Recommended rung" in first.stdout and "Why:" in first.stdout
    assert {d["rung"] for d in summary["diagnosis"]} == {"zero_shot", "instructed", "few_shot", "lora_sft"}
    rungs = {r["rung"]: r for r in summary["rungs"]}
    assert list(rungs) == ["zero_shot", "instructed", "few_shot", "lora_sft"]
    for r in rungs.values():
        assert r["status"] == "ok"
        assert 0 <= r["form_accuracy"] <= 1 and 0 <= r["knowledge_accuracy"] <= 1
        assert r["prompt_tokens"] > 0 and r["latency_s"] > 0
    assert rungs["lora_sft"]["build_seconds"] > 0 and rungs["zero_shot"]["build_seconds"] == 0
    # how the fine-tune was built is said as the climb goes and kept in the report
    built = rungs["lora_sft"]["build_notes"]
    assert " steps, final loss " in built and rungs["zero_shot"]["build_notes"] is None
    assert f"lora_sft: built: {built}" in " ".join(first.stderr.split())
    assert f"- lora_sft build: {built}" in (run_dir / "report.md").read_text()
    assert rungs["instructed"]["prompt_tokens"] > 3 * rungs["zero_shot"]["prompt_tokens"]
    assert "break-even" in first.stdout
    assert summary["environment"]["seed"] == 0 and summary["environment"]["ladder_version"]
    assert "## Environment" in (run_dir / "report.md").read_text()

    # The same climb again: every answer from the cache, the adapter reused, nothing trained.
    second = ladder("climb", str(tiny_task), "--runs-dir", str(runs), "--all", cwd=tmp_path)
    assert second.returncode == first.returncode, second.stderr[-3000:]
    assert "model calls: 0 made, 16 answered from cache" in second.stderr
    assert "training LoRA" not in second.stderr
    run2 = Path(second.stdout.split("run: ")[1].split()[0])
    again = {r["rung"]: r for r in json.loads((run2 / "summary.json").read_text())["rungs"]}
    assert again["lora_sft"]["build_reused"] is True and again["lora_sft"]["build_notes"] == built
    assert "lora_sft: reused: " in second.stderr
    assert again["lora_sft"]["build_seconds"] == rungs["lora_sft"]["build_seconds"]
    for name in rungs:
        assert again[name]["form_accuracy"] == rungs[name]["form_accuracy"]

    # The report command rewrites the files from the store alone.
    (run_dir / "report.html").unlink()
    rep = ladder("report", str(run_dir), cwd=tmp_path)
    assert rep.returncode == 0, rep.stderr
    assert "lora_sft" in (run_dir / "report.html").read_text()

    listed = ladder("runs", "--runs-dir", str(runs), cwd=tmp_path)
    assert run_dir.name in listed.stdout and run2.name in listed.stdout

    # `ladder recommend` recomputes the advice from the store alone, with its exit code.
    best = max(r["quality"] for r in rungs.values())
    easy = ladder("recommend", str(run_dir), "--target", "0", "--volume", "100000", cwd=tmp_path)
    assert easy.returncode == 0 and "target met" in easy.stdout, easy.stderr
    strict = ladder("recommend", str(run_dir), "--target", "1", "--json", cwd=tmp_path)
    assert strict.returncode == (0 if best >= 1 else 1), strict.stderr
    advice = json.loads(strict.stdout)["recommendation"]
    assert advice["meets_target"] == (best >= 1) and advice["quality"] == best
    assert ladder("recommend", str(tmp_path / "nowhere"), cwd=tmp_path).returncode == 2

    # Early stop: with a target the first rung meets, the later rungs are skipped (answers cached).
    tiny_task.write_text(tiny_task.read_text().replace("value: 0.9", "value: 0.0"))
    junit = tmp_path / "climb.xml"
    third = ladder("climb", str(tiny_task), "--runs-dir", str(runs), "--junit", str(junit), cwd=tmp_path)
    assert third.returncode == 0, third.stderr[-3000:]
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert cases["zero_shot"].find("failure") is None and cases["lora_sft"].find("skipped") is not None
    assert "target met by zero_shot" in cases["lora_sft"].find("skipped").get("message")  # the reason, not a stock text
    assert "target met by zero_shot" in third.stderr and "model calls: 0 made" in third.stderr
    run3 = Path(third.stdout.split("run: ")[1].split()[0])
    statuses = {r["rung"]: r["status"] for r in json.loads((run3 / "summary.json").read_text())["rungs"]}
    assert statuses == {"zero_shot": "ok", "instructed": "skipped", "few_shot": "skipped", "lora_sft": "skipped"}
    # lora_sft would answer under zero_shot's own prompt, so it cannot cost less at any volume: its
    # skip names the estimate it was compared on.
    assert "lora_sft: skipped: target met by zero_shot; estimated" in " ".join(third.stderr.split())

    # Early stop in cost order: instructed meets the target but its long prompt costs more per
    # request than the fine-tune would. At a large volume the fine-tune is climbed all the same
    # (adapter reused, answers cached); at volume 0 its build can never pay back, and it is skipped.
    text = tiny_task.read_text()
    assert "volume: 100000" in text
    for volume, lora_climbed in (("1000000000", True), ("0", False)):
        tiny_task.write_text(text.replace("volume: 100000", f"volume: {volume}"))
        r = ladder("climb", str(tiny_task), "--runs-dir", str(runs), "--rungs", "instructed,lora_sft", "--no-report",
                   cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-3000:]
        log = " ".join(r.stderr.split())
        assert "instructed: ok in" in log
        assert ("lora_sft: ok in" in log) == lora_climbed, log[-2000:]
        assert ("lora_sft: skipped: target met by instructed; estimated" in log) == (not lora_climbed), log[-2000:]
        assert "training LoRA" not in log  # the adapter of the first climb is reused


def test_malformed_data_fails_with_file_and_line(tiny_task: Path, tmp_path: Path):
    eval_file = tiny_task.parent / "data" / "eval.jsonl"
    lines = eval_file.read_text().splitlines()
    lines[1] = '{"input": "x", "expected": '  # bad JSON on line 2
    lines[2] = '{"input": "x"}'  # missing key on line 3
    eval_file.write_text("\n".join(lines) + "\n")
    train_file = tiny_task.parent / "data" / "train.jsonl"
    bad = json.loads(train_file.read_text().splitlines()[0])
    bad["messages"][0]["role"] = "human"  # wrong role on line 1
    train_file.write_text(json.dumps(bad) + "\n")

    r = ladder("climb", str(tiny_task), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
    assert r.returncode == 2
    assert f"{eval_file}:2: invalid JSON" in r.stderr
    assert f"{eval_file}:3: missing key 'expected'" in r.stderr
    assert f"{train_file}:1: messages[0] has unknown role 'human'" in r.stderr
    assert not (tmp_path / "runs").exists(), "nothing may run on bad data"


def test_bad_task_yaml_names_the_key_path(tiny_task: Path, tmp_path: Path):
    text = tiny_task.read_text().replace("input_per_1k: 0.0005", "input_per_1k: cheap")
    tiny_task.write_text(text + "\nretries: 3\n")
    r = ladder("climb", str(tiny_task), cwd=tmp_path)
    assert r.returncode == 2
    assert "prices.input_per_1k" in r.stderr
    assert "retries" in r.stderr


def test_unknown_rung_and_bad_rung_option(tiny_task: Path, tmp_path: Path):
    r = ladder("climb", str(tiny_task), "--rungs", "zero_shot,telepathy", cwd=tmp_path)
    assert r.returncode == 2 and "telepathy" in r.stderr
    tiny_task.write_text(tiny_task.read_text().replace("few_shot: {k: 3}", "few_shot: {k: 0}"))
    r = ladder("climb", str(tiny_task), cwd=tmp_path)
    assert r.returncode == 2 and "rungs.few_shot.k" in r.stderr


def test_the_summary_table_keeps_whole_rung_names_when_piped(tmp_path: Path):
    """Piped into a log (no terminal, no COLUMNS), rich would fit the table to 80 columns and cut
    a rung's name to `lora_…`; the summary keeps the table's natural width instead."""
    from ladder.tracking.store import RungRecord, Store
    from ladder.types import Assessment, Example, ExampleResult, Generation

    long_name = "lora_sft_wrong_demos(eval_demos)"
    with Store(tmp_path / "runs") as store:
        store.start_run("run-1", "toy", "toy/task.yaml", "hash", {"name": "toy", "target": {"value": 0.5}}, "model")
        for position, name in enumerate(("zero_shot", long_name)):
            rows = [ExampleResult(Example(id=f"e{i}", input=f"q {i}", expected="a"), "[]",
                                  Generation(text="a", prompt_tokens=5, completion_tokens=1, latency_s=0.1),
                                  (Assessment("answer", "form", "code", "exact", passed=i % 2 == 0),))
                    for i in range(4)]
            store.add_rung_result(RungRecord("run-1", position, name, "prompt", {"description": name}), rows)
        store.finish_run("run-1", "finished")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    r = subprocess.run([sys.executable, "-m", "ladder.cli", "report", str(tmp_path / "runs" / "run-1")],
                       cwd=tmp_path, env={**env, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "per 1K req" in r.stdout and "knowledge" in r.stdout and "…" not in r.stdout
    assert any(long_name in line and "50%" in line for line in r.stdout.splitlines())  # its row, whole


def test_a_climb_whose_every_call_fails_exits_2_not_1(refused_task: tuple[Path, str], tmp_path: Path):
    # "target not met" (1) would read in CI as the model's quality; a refused server is an outage
    tiny_task, _ = refused_task
    runs = tmp_path / "runs"
    r = ladder("climb", str(tiny_task), "--runs-dir", str(runs), "--rungs", "zero_shot", cwd=tmp_path)
    assert r.returncode == 2, r.stderr[-3000:]
    said = " ".join(r.stderr.split())
    assert "error: not one of the run's 4 calls was answered, so nothing was measured" in said
    assert f"`ladder climb {tiny_task} --retry-errors` asks them again" in said  # the task's own path
    run_dir = Path(r.stdout.split("run: ")[1].split()[0])
    assert (run_dir / "report.html").exists()  # the run and its report are kept all the same
    again = ladder("recommend", str(run_dir), cwd=tmp_path)
    assert again.returncode == 2 and "nothing was measured" in again.stderr
