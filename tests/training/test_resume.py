"""Checkpoint and resume: a SIGKILLed training run, restarted, ends where an uninterrupted one does."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from ladder.training import checkpoint
from ladder.training.loop import checkpoint_root

WORKER = Path(__file__).with_name("resume_worker.py")
TOTAL_STEPS = 10


def _env() -> dict[str, str]:
    # The same thread count in every process: float sums are then reproduced bit for bit.
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def _run(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(WORKER), str(out), *extra], env=_env(),
                          capture_output=True, text=True, timeout=300)


def _run_and_kill_at(out: Path, kill_step: int) -> list[str]:
    """Run the worker step by step (it waits for a line after each) and SIGKILL it at `kill_step`."""
    proc = subprocess.Popen([sys.executable, str(WORKER), str(out), "--wait-each-step"], env=_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = []
    assert proc.stdout is not None and proc.stdin is not None
    for line in proc.stdout:
        lines.append(line.strip())
        if line.strip() == f"step {kill_step}":
            proc.send_signal(signal.SIGKILL)
            break
        if line.startswith("step "):
            proc.stdin.write("\n")
            proc.stdin.flush()
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, lines
    return lines


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    straight = tmp_path / "straight" / "adapter"
    done = _run(straight)
    assert done.returncode == 0, done.stderr[-2000:]

    out = tmp_path / "killed" / "adapter"
    root = checkpoint_root(out)
    # 1. Killed after checkpoint 4 is fully written but before its rename publishes it.
    crashed = _run(out, "--die-before-publish", "4")
    assert crashed.returncode == -signal.SIGKILL
    assert [p.name for p in root.glob("step-*")] == ["step-000002"]
    assert list(root.glob(".step-000004.tmp-*")), "the unpublished checkpoint should be left as a temp dir"

    # 2. Restarted: it must resume from step 2 (the temp dir is never picked up); killed again
    #    while it reports step `kill_step`, before that step's checkpoint is written.
    kill_step = random.Random().randint(5, TOTAL_STEPS - 1)
    lines = _run_and_kill_at(out, kill_step)
    assert lines[0] == "resumed 2", lines
    assert not (out / "adapter_model.safetensors").exists()

    # 3. Restarted again: it finishes from the newest complete checkpoint.
    final = _run(out)
    assert final.returncode == 0, final.stderr[-2000:]
    result = json.loads(final.stdout.strip().splitlines()[-1].removeprefix("done "))
    # the newest checkpoint complete when the kill landed: the last even step before kill_step
    assert result["resumed_from"] == (kill_step - 1) // 2 * 2, (kill_step, result)
    assert result["steps"] == TOTAL_STEPS
    assert not root.exists(), "checkpoints are removed once the adapter is saved"

    a = load_file(straight / "adapter_model.safetensors")
    b = load_file(out / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) <= 1e-6
    assert any(float(t.abs().max()) > 0 for k, t in b.items() if "lora_B" in k), "training did not move B"
    ma = json.loads((straight / "training.json").read_text())
    mb = json.loads((out / "training.json").read_text())
    assert len(ma["lrs"]) == len(mb["lrs"]) == TOTAL_STEPS
    assert ma["lrs"] == mb["lrs"]
    assert mb["losses"] == pytest.approx(ma["losses"], abs=1e-5)


def _write(root: Path, step: int, key: str, value: float) -> Path:
    return checkpoint.save_checkpoint(root, step, key, {"w": torch.full((3,), value)}, {"step": step})


def test_half_written_or_foreign_checkpoints_are_never_loaded(tmp_path):
    root = tmp_path / "ckpt"
    _write(root, 2, "run-a", 2.0)
    # a folder without a manifest (killed while writing) with a higher step
    partial = checkpoint.step_dir(root, 6)
    partial.mkdir()
    save_file({"w": torch.full((3,), 6.0)}, str(partial / checkpoint.TENSORS))
    # a complete checkpoint whose tensor file was later truncated: the checksum no longer matches
    broken = _write(root, 4, "run-a", 4.0)
    data = (broken / checkpoint.TENSORS).read_bytes()
    (broken / checkpoint.TENSORS).write_bytes(data[: len(data) // 2])
    # a complete checkpoint of a different run (other config or data)
    _write(root, 8, "run-b", 8.0)

    step, tensors, state = checkpoint.load_latest(root, "run-a")
    assert step == 2 and state == {"step": 2} and float(tensors["w"][0]) == 2.0
    assert checkpoint.load_latest(root, "run-c") is None
    assert checkpoint.load_latest(tmp_path / "missing", "run-a") is None


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    for step in (1, 2, 3, 4):
        _write(tmp_path, step, "k", float(step))
    assert checkpoint.complete_steps(tmp_path, "k") == [3, 4]
