"""`ladder init` and `ladder schema` as a user runs them: real processes, real files, one real climb."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "task"))
from test_init import FORMATS, label_rows, write_jsonl  # noqa: E402  (the same rows as the library tests)


def ladder(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "ladder.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_init_writes_a_task_that_passes_data_check(tmp_path: Path, fmt: str) -> None:
    write_jsonl(tmp_path / "mydata.jsonl", FORMATS[fmt](20))
    r = ladder("init", "mydata.jsonl", "--out", "task/task.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "wrote task/mydata.train.jsonl (16 rows)" in r.stdout
    assert "wrote task/mydata.eval.jsonl (4 rows)" in r.stdout
    assert "ladder data check task/task.yaml" in r.stdout and "ladder climb task/task.yaml" in r.stdout
    text = (tmp_path / "task" / "task.yaml").read_text()
    # every check is marked form or knowledge, under a comment saying why it was proposed
    assert text.count("\n  # form:") + text.count("\n  # knowledge:") == text.count("  - name:") > 0
    check = ladder("data", "check", "task/task.yaml", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "ok: mydata: 16 train, 4 eval examples" in check.stdout


def test_init_refuses_to_overwrite_and_reports_bad_data(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", label_rows(10))
    assert ladder("init", "d.jsonl", cwd=tmp_path).returncode == 0
    again = ladder("init", "d.jsonl", "--seed", "1", cwd=tmp_path)
    assert again.returncode == 2
    assert "d.train.jsonl: exists (use --force to overwrite)" in again.stderr
    assert "task.yaml: exists (use --force to overwrite)" in again.stderr
    forced = ladder("init", "d.jsonl", "--seed", "1", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr

    (tmp_path / "bad.jsonl").write_text('{"input": "a", "expected": "b"}\n{"input": "c"\n')
    bad = ladder("init", "bad.jsonl", "--out", "b.yaml", cwd=tmp_path)
    assert bad.returncode == 2 and "bad.jsonl:2: invalid JSON" in bad.stderr
    assert not (tmp_path / "b.yaml").exists()


def test_init_without_data_lists_the_examples(tmp_path: Path) -> None:
    r = ladder("init", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    examples = sorted((TESTS.parent / "examples").glob("*/task.yaml"))
    for path in examples:
        description = yaml.safe_load(path.read_text())["description"].split(".")[0]
        line = next(line for line in r.stdout.splitlines() if str(path) in line)
        assert " ".join(description.split()) in line


def test_schema_command_prints_and_writes_the_schema(tmp_path: Path) -> None:
    printed = ladder("schema", cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    schema = json.loads(printed.stdout)
    written = ladder("schema", "--out", "task.schema.json", cwd=tmp_path)
    assert written.returncode == 0 and "yaml-language-server: $schema=task.schema.json" in written.stdout
    assert json.loads((tmp_path / "task.schema.json").read_text()) == schema
    write_jsonl(tmp_path / "d.jsonl", FORMATS["openai"](10))
    assert ladder("init", "d.jsonl", cwd=tmp_path).returncode == 0
    jsonschema.validate(yaml.safe_load((tmp_path / "task.yaml").read_text()), schema)  # init's output too


@pytest.mark.slow
def test_init_then_climb_zero_shot(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "reviews.jsonl", label_rows(30))
    assert ladder("init", "reviews.jsonl", cwd=tmp_path).returncode == 0
    r = ladder("climb", "task.yaml", "--rungs", "zero_shot", "--runs-dir", "runs", "--no-report", cwd=tmp_path,
               timeout=900)
    assert r.returncode in (0, 1), r.stderr[-3000:]
    assert "climbing reviews: 24 train, 6 eval examples" in r.stderr
    run_dir = Path(r.stdout.split("run: ")[1].split()[0])
    from ladder.report import summarize
    from ladder.tracking.store import Store

    summary = summarize(Store.for_run_dir(tmp_path / run_dir), run_dir.name)
    (rung,) = summary["rungs"]
    assert rung["rung"] == "zero_shot" and rung["status"] == "ok" and rung["n"] == 6
    assert set(rung["check_rates"]) == {"label", "one of the labels"}
    assert r.returncode == (0 if rung["meets_target"] else 1)
