"""Error rows of a remote climb: counted by code, never cached, asked again by the next climb, and
repaired in place by `ladder climb --retry-errors` (which asks nothing else). Against the scripted
server of conftest.py (no model)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ladder.cli import app
from ladder.climb import climb
from ladder.retry_errors import retry_errors
from ladder.report import summarize
from ladder.scoring import error_code, outcome
from ladder.task import load_task
from ladder.tracking.store import Store

ROWS = 12
BROKEN = {"q3", "q7", "q8"}


def _task(folder: Path, url: str) -> Path:
    (folder / "data").mkdir(parents=True)
    rows = [{"id": f"e{i}", "input": f"q{i}", "expected": f"re: q{i}"} for i in range(ROWS)]
    (folder / "data" / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "task.yaml").write_text(f"""
name: echo
model:
  backend: openai
  name: stub
  base_url: {url}
  api_key_env: LADDER_TEST_NO_KEY
  retry: {{max_attempts: 2, backoff_s: 0.01, backoff_max_s: 0.02}}
data: {{eval: data/eval.jsonl}}
checks: [{{name: echo, kind: exact, tag: knowledge}}]
target: {{metric: knowledge, value: 0.5}}
rungs: {{zero_shot: }}
""")
    return folder / "task.yaml"


def test_error_rows_are_counted_asked_again_and_repaired_in_place(api, tmp_path, monkeypatch):
    monkeypatch.setenv("LADDER_TEST_NO_KEY", "unused")
    api.script = lambda text, attempt: ("status", 503, {}) if text in BROKEN else ("ok",)
    task = load_task(_task(tmp_path / "t", api.url))
    store = Store(tmp_path / "runs")
    first = climb(task, store).run_id
    (rung,) = store.rung_results(first)
    gens = {g.example_id: g for g in store.generations(rung.id)}
    assert {e for e, g in gens.items() if g.error} == {"e3", "e7", "e8"}
    assert all(outcome(g, "overall") == "error" and error_code(g.error) == "503" for g in gens.values() if g.error)
    assert all(outcome(g, "overall") == "pass" for g in gens.values() if not g.error)
    entry = summarize(store, first)["rungs"][0]
    assert entry["n_errors"] == 3 and entry["error_codes"] == {"503": 3} and entry["knowledge_accuracy"] == 1.0

    # a new climb asks again only the error rows: the others come from the cache
    api.log.clear()
    climb(task, store)
    assert sorted({text for text, _a, _t in api.log}) == sorted(BROKEN)

    # --retry-errors on the first run: only its error rows are asked, and they take their answers
    api.log.clear()
    api.script = lambda text, attempt: ("ok",)
    result = retry_errors(task, store, first)
    assert (result.asked, result.answered, result.still_failing) == (3, 3, 0)
    assert sorted(text for text, _a, _t in api.log) == sorted(BROKEN)
    after = {g.example_id: g for g in store.generations(rung.id)}
    assert [g.id for g in after.values()] == [g.id for g in gens.values()]  # the same rows, no new ones
    assert all(g.error is None and outcome(g, "overall") == "pass" for g in after.values())
    assert {e: g.output for e, g in after.items() if e not in ("e3", "e7", "e8")} == \
        {e: g.output for e, g in gens.items() if not g.error}
    assert summarize(store, first)["rungs"][0]["n_errors"] == 0

    # nothing left to ask: the command asks nothing and says so
    api.log.clear()
    r = CliRunner().invoke(app, ["climb", str(task.path), "--runs-dir", str(tmp_path / "runs"),
                                 "--retry-errors", "--run", first, "--no-report"])
    assert r.exit_code == 0, r.output
    assert "0 error row(s) asked again" in r.output and api.log == []
