"""Exports of the people's labels: A/B choices as DPO pairs (`ladder data preferences`), and the
CLI around the review app, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ladder.task.formats import Preference, parse
from ladder.task.preferences import EVAL_SKIP, export_preferences
from ladder.tracking.store import Store
from ladder.types import Comparison


def ladder(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "ladder.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _answers(store: Store, run_id: str) -> dict[tuple[str, str], int]:
    """(rung, example id) -> generation id."""
    return {(r.rung, g.example_id): g.id for r in store.rung_results(run_id) for g in store.generations(r.id)}


def _choices(review_run) -> dict[tuple[str, str], int]:
    with Store(review_run.runs_dir) as store:
        ids = _answers(store, review_run.run_id)

        def choice(rater: str, q: str, winner: str, first: str = "a") -> Comparison:
            return Comparison(ids[("zero_shot", q)], ids[("rag", q)], "human", rater, winner, first,  # type: ignore[arg-type]
                              metadata={"seconds": 2.0, "position": 1})

        store.add_comparisons(review_run.run_id, [
            choice("ada", "q1", "a"), choice("ada", "q1", "b", "b"),  # ada changed her mind: b (rag) wins
            choice("ada", "q2", "b"), choice("bo", "q2", "b"),  # two votes for rag
            choice("ada", "q3", "a"), choice("bo", "q3", "b"),  # split evenly: no pair
            choice("ada", "q4", "tie"),  # says nothing about which to prefer
        ])
        store.add_comparisons(review_run.run_id, [Comparison(ids[("zero_shot", "q4")], ids[("rag", "q4")],
                                                             "llm_judge", "pairwise", "b")])  # a judge's: not a person's
    return ids


def test_preferences_refuse_eval_inputs_unless_asked(review_run, tmp_path: Path):
    _choices(review_run)
    out = tmp_path / "prefs.jsonl"
    with Store(review_run.runs_dir) as store:
        refused = export_preferences(store, review_run.run_id, out)
        assert refused.written == 0 and not out.exists()
        assert refused.skipped == {EVAL_SKIP: 2, "raters split evenly": 1, "a choice of tie (only a or b makes a pair)": 1}

        written = export_preferences(store, review_run.run_id, out, include_eval=True)
    assert written.written == 2
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0] == {"input": {"messages": [{"role": "user", "content": "How long do I have to return a jacket?"}]},
                       "preferred_output": [{"role": "assistant",
                                             "content": "Within 30 days of delivery, with your receipt."}],
                       "non_preferred_output": [{"role": "assistant", "content": "You can return it any time."}]}
    assert [r["preferred_output"][0]["content"] for r in rows] == [
        "Within 30 days of delivery, with your receipt.", "No, opened software cannot be returned."]
    assert all(isinstance(parse(r), Preference) for r in rows)  # what the dpo rung's `pairs:` reads


def test_preferences_command_in_both_formats(review_run, tmp_path: Path):
    _choices(review_run)
    run_dir = str(review_run.runs_dir / review_run.run_id)
    out = tmp_path / "prefs.jsonl"
    refused = ladder("data", "preferences", run_dir, str(out), cwd=tmp_path)
    assert refused.returncode == 1 and "nothing written" in refused.stdout and "skipped 2: eval-split input" in refused.stdout
    trl = ladder("data", "preferences", review_run.run_id, str(out), "--runs", str(review_run.runs_dir),
                 "--format", "trl", "--include-eval", cwd=tmp_path)
    assert trl.returncode == 0 and f"{out}: 2 preference pair(s) written" in trl.stdout, trl.stderr
    row = json.loads(out.read_text().splitlines()[1])
    assert row == {"prompt": [{"role": "user", "content": "Can I return opened software?"}],
                   "chosen": [{"role": "assistant", "content": "No, opened software cannot be returned."}],
                   "rejected": [{"role": "assistant", "content": "Yes, always."}]}
    assert [parse(json.loads(line)).rejected for line in out.read_text().splitlines()] == [  # type: ignore[union-attr]
        "You can return it any time.", "Yes, always."]
    bad = ladder("data", "preferences", "no-such-run", str(out), "--runs", str(review_run.runs_dir), cwd=tmp_path)
    assert bad.returncode == 2 and "no run 'no-such-run'" in bad.stderr


def test_review_command_refuses_bad_runs_and_unsafe_binds(review_run, tmp_path: Path):
    runs = str(review_run.runs_dir)
    missing = ladder("review", "--runs-dir", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 2 and "no ladder.sqlite" in missing.stderr
    assert not (tmp_path / "nowhere").exists(), "a typo must not create an empty store"
    remote = ladder("review", "../../etc/passwd", "--runs-dir", runs, "--host", "0.0.0.0", cwd=tmp_path)
    assert remote.returncode == 2 and "no run '../../etc/passwd'" in remote.stderr  # the run id is checked first
    remote = ladder("review", review_run.run_id, "--runs-dir", runs, "--host", "0.0.0.0", "--allow-remote",
                    cwd=tmp_path)
    assert remote.returncode == 2 and "--token-env" in remote.stderr
