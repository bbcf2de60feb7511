"""Plugins: an installed package adds a rung, a check kind and a backend through entry points
(tests/plugins/ladder_test_plugin). It is "installed" for the test as pip would leave it: a
.dist-info folder whose entry_points.txt importlib.metadata reads, on the subprocess's PYTHONPATH,
written from the plugin's own pyproject.toml; the shared environment is never touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "tests" / "plugins" / "ladder_test_plugin"


def install(site: Path, extra_entry_points: dict[str, dict[str, str]] | None = None) -> str:
    """A PYTHONPATH on which the test plugin is installed (plus `extra_entry_points`)."""
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    groups = {g: dict(eps) for g, eps in project["entry-points"].items()}
    for g, eps in (extra_entry_points or {}).items():
        groups.setdefault(g, {}).update(eps)
    dist = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    (dist / "entry_points.txt").write_text(
        "".join(f"[{g}]\n" + "".join(f"{n} = {v}\n" for n, v in eps.items()) + "\n" for g, eps in groups.items()))
    return os.pathsep.join([str(site), str(PLUGIN), str(ROOT / "src")])


def run(args: list[str], pythonpath: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": pythonpath, "COLUMNS": "200", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


EVAL = [("one", "one"), ("two words", "two words"), ("now three words", "other"), ("and now four words", "x")]


def test_a_climb_uses_a_plugins_rung_check_and_backend(tmp_path: Path):
    path = install(tmp_path / "site")
    (tmp_path / "eval.jsonl").write_text("".join(json.dumps({"input": i, "expected": e}) + "\n" for i, e in EVAL))
    (tmp_path / "task.yaml").write_text(
        "name: plugged\ndata: {eval: eval.jsonl}\nmodel: {backend: echo, name: parrot}\n"
        "checks:\n  - {name: short, kind: word_count, tag: form, most_words: 2}\n"
        "  - {name: same, kind: exact, tag: knowledge}\n"
        "rungs:\n  zero_shot:\n  terse: {words: 2}\n")
    r = run(["-m", "ladder.cli", "climb", "task.yaml", "--runs-dir", "runs", "--all", "--no-report"], path, tmp_path)
    assert r.returncode in (0, 1), r.stderr[-3000:]
    from ladder.tracking.store import Store

    store = Store(tmp_path / "runs")
    (run_row,) = store.runs()
    rows = {row.rung: row for row in store.rung_results(run_row["id"])}
    assert list(rows) == ["zero_shot", "terse"] and {row.status for row in rows.values()} == {"ok"}
    assert rows["terse"].candidate["description"] == "asks for at most 2 words"
    # The echo backend answers each input with itself: the plugin's check counts its words.
    for gen in store.generations(rows["terse"].id):
        (short,) = [a for a in gen.assessments if a.name == "short"]
        assert short.source_name == "word_count" and short.passed == (len(gen.input.split()) <= 2)
        assert gen.output == gen.input


def test_plugins_load_when_first_needed_not_on_import(tmp_path: Path):
    path = install(tmp_path / "site")
    code = ("import sys, ladder.rungs, ladder.metrics.checks, ladder.climb, ladder.backends\n"
            "print('ladder_test_plugin' in sys.modules)\n"
            "from ladder.rungs import registered\n"
            "print([r.name for r in registered()][-1], 'ladder_test_plugin.rungs' in sys.modules)\n")
    r = run(["-c", code], path, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["False", "terse True"]


def test_a_broken_plugin_is_left_out_with_a_warning_naming_it(tmp_path: Path):
    path = install(tmp_path / "site", {"ladder.rungs": {"broken": "ladder_no_such_module:Rung",
                                                        "shadow": "ladder.rungs.zero_shot:ZeroShot"}})
    r = run(["-m", "ladder.cli", "rungs"], path, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "terse" in r.stdout
    assert "PluginWarning: ladder plugin 'broken' (ladder.rungs, from ladder-test-plugin: ladder_no_such_module:Rung) " \
           "failed to load and is left out: ModuleNotFoundError" in r.stderr
    assert "PluginWarning: ladder plugin 'shadow' (ladder.rungs) is left out: its name 'zero_shot' is a built-in " \
           "rung's" in r.stderr


def test_without_the_plugin_its_names_are_unknown(tmp_path: Path):
    (tmp_path / "eval.jsonl").write_text(json.dumps({"input": "a", "expected": "a"}) + "\n")
    (tmp_path / "task.yaml").write_text("data: {eval: eval.jsonl}\nmodel: {backend: echo}\n")
    r = run(["-m", "ladder.cli", "data", "check", "task.yaml"], str(ROOT / "src"), tmp_path)
    assert r.returncode == 2 and "model.backend: Input should be 'local' or 'openai'" in r.stderr
