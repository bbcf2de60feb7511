"""`ladder data validate | convert | from-logs` as a user runs them: real processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ladder.tracking.store import RungRecord, Store
from ladder.types import Assessment, Example, ExampleResult, Generation, Message, chat_to_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def ladder(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "ladder.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _chats(n: int) -> list[dict]:
    return [{"messages": [{"role": "user", "content": f"Route ticket {i}"},
                          {"role": "assistant", "content": '{"category": "billing"}'}]} for i in range(n)]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_help(tmp_path: Path) -> None:
    for cmd in ("validate", "convert", "from-logs"):
        r = ladder("data", cmd, "--help", cwd=tmp_path)
        assert r.returncode == 0 and "Usage" in r.stdout, r.stderr


def test_validate_clean_file_with_prices_from_task_yaml(tmp_path: Path) -> None:
    data = _write(tmp_path / "train.jsonl", _chats(12))
    task = tmp_path / "task.yaml"
    task.write_text("name: t\ndata: {eval: train.jsonl}\nprices: {currency: EUR, train_per_1m_tokens: 25}\n")
    r = ladder("data", "validate", str(data), "--task", str(task), "--epochs", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{data}: format openai; 12 lines read: 12 accepted, 0 rejected; 0 problem(s)" in r.stdout
    cost_line = next(line for line in r.stdout.splitlines() if line.startswith("estimated training cost"))
    tokens = int(cost_line.split(": ")[1].split(" tokens")[0])
    assert tokens > 12 * 10  # every example is a rendered chat of more than 10 tokens
    assert cost_line.endswith(f"x 2 epochs x 25 EUR/1M = {tokens * 2 * 25 / 1e6:.4f} EUR")


def test_validate_malformed_corpus_and_unreadable(tmp_path: Path) -> None:
    corpus = FIXTURES / "malformed.jsonl"
    r = ladder("data", "validate", str(corpus), "--max-tokens", "64", "--price-per-1m", "3", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    lines = corpus.read_bytes().rstrip(b"\n").split(b"\n")
    reported = {line.split(": ")[0] for line in r.stdout.splitlines() if line.startswith(f"{corpus}:")}
    assert len(reported) >= 60
    assert f"{len(lines)} lines read: 3 accepted, {len(lines) - 3} rejected" in r.stdout
    assert f"{corpus}:4: invalid_json: invalid JSON" in r.stdout

    missing = ladder("data", "validate", str(tmp_path / "nope.jsonl"), cwd=tmp_path)
    assert missing.returncode == 2 and "nope.jsonl: unreadable: file not found" in missing.stderr


def test_convert_command(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [{"instruction": "Add.", "input": "2+2", "output": "4"}] * 2)
    r = ladder("data", "convert", str(src), str(tmp_path / "out.jsonl"), "--to", "sharegpt", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 sharegpt row(s) written (read 2 alpaca)" in r.stdout
    row = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])
    assert row == {"conversations": [{"from": "human", "value": "Add.\n\n2+2"}, {"from": "gpt", "value": "4"}]}

    multi = {"conversations": row["conversations"] * 2}
    src2 = _write(tmp_path / "multi.jsonl", [multi])
    r = ladder("data", "convert", str(src2), str(tmp_path / "a.jsonl"), "--to", "alpaca", cwd=tmp_path)
    assert r.returncode == 1
    assert f"{src2}:1: would_lose_information: alpaca holds one user turn" in r.stdout
    assert not (tmp_path / "a.jsonl").exists()
    r = ladder("data", "convert", str(src), str(tmp_path / "x.jsonl"), "--to", "csv", cwd=tmp_path)
    assert r.returncode == 2 and "csv" in r.stderr


def test_from_logs_command_on_a_store(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with Store(runs) as store:
        store.start_run("r1", "t", "task.yaml", "h", {}, "local:m")
        rows = []
        for i, ok in enumerate([True, False, True]):
            ex = Example(f"e{i}", f"q{i}", f"a{i}")
            rows.append(ExampleResult(ex, chat_to_json((Message("user", ex.input),)),
                                      Generation(f"out{i}", 3, 1, 0.1, "stop"), (Assessment("c", "knowledge", passed=ok),)))
        store.add_rung_result(RungRecord("r1", 0, "zero_shot", "prompt", {}, eval_seconds=1.0), rows)
    out = tmp_path / "train.jsonl"
    refused = ladder("data", "from-logs", str(runs), str(out), "--passed-only", cwd=tmp_path)
    assert refused.returncode == 1 and "skipped 3: eval-split input" in refused.stdout, refused.stdout + refused.stderr
    r = ladder("data", "from-logs", str(runs), str(out), "--passed-only", "--include-eval", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{out}: 2 chat example(s) written" in r.stdout and "skipped 1: a check failed" in r.stdout
    assert [json.loads(line)["messages"][-1]["content"] for line in out.read_text().splitlines()] == ["out0", "out2"]
    bad = ladder("data", "from-logs", str(runs), str(out), "--run", "r9", cwd=tmp_path)
    assert bad.returncode == 2 and "no run 'r9'" in bad.stderr


def test_check_reports_near_duplicates_as_file_line_pairs(tmp_path: Path) -> None:
    import shutil

    example = Path(__file__).resolve().parents[2] / "examples" / "ticket-routing"
    task = tmp_path / "task"
    shutil.copytree(example, task)
    clean = ladder("data", "check", str(task / "task.yaml"), cwd=tmp_path)
    assert clean.returncode == 0 and "ok: ticket-routing" in clean.stdout and "warning" not in clean.stdout, clean.stderr
    # an eval row that is training row 3 with its numbers changed
    train_row = json.loads((task / "data" / "train.jsonl").read_text().splitlines()[2])
    user, answer = train_row["messages"][0]["content"], train_row["messages"][1]["content"]
    copy = "".join("7" if c.isdigit() else c for c in user) + ("" if any(c.isdigit() for c in user) else " ")
    with open(task / "data" / "eval.jsonl", "a") as f:
        f.write(json.dumps({"id": "copy", "input": copy, "expected": answer}) + "\n")
    n_eval = len((task / "data" / "eval.jsonl").read_text().splitlines())
    r = ladder("data", "check", str(task / "task.yaml"), cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"warning: {task / 'data' / 'eval.jsonl'}:{n_eval} ~ {task / 'data' / 'train.jsonl'}:3: near-duplicate" in r.stdout
    assert f"1 of {n_eval} eval row(s) near-duplicate a training row" in r.stdout


def test_check_names_the_rows_no_check_of_the_target_can_score(tmp_path: Path) -> None:
    (tmp_path / "task.yaml").write_text(
        "name: t\ndata: {eval: eval.jsonl}\ntarget: {metric: knowledge, value: 0.8}\n"
        "selection: {dev_fraction: 0.5, seed: 1}\n", encoding="utf-8")
    knows = [{"name": "k", "kind": "exact", "tag": "knowledge"}]
    shape = [{"name": "f", "kind": "regex", "tag": "form", "pattern": "."}]
    rows = [{"input": "q1", "expected": "a", "checks": knows}, {"input": "q2", "expected": "b", "checks": shape},
            {"input": "q3", "expected": "c", "checks": knows}, {"input": "q4", "expected": "d"}]
    eval_file = _write(tmp_path / "eval.jsonl", rows)
    r = ladder("data", "check", str(tmp_path / "task.yaml"), cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    named = [line.split(": ")[1] for line in r.stderr.splitlines() if "no check of tag 'knowledge'" in line]
    assert named == [f"{eval_file}:2", f"{eval_file}:4"]
    _write(eval_file, [dict(row, checks=knows) for row in rows])
    ok = ladder("data", "check", str(tmp_path / "task.yaml"), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "selection: rungs are chosen on 2 dev rows and reported on the other 2" in ok.stdout
