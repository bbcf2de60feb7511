"""Shared fixtures: the real default model, loaded once per test session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BALANCE = ROOT / "examples" / "balance-shift"


@pytest.fixture(scope="session")
def backend():
    from ladder.backends.local import LocalBackend

    return LocalBackend(batch_size=4)


@pytest.fixture()
def tiny_task(tmp_path: Path) -> Path:
    """A copy of the balance-shift task cut to 8 train and 4 eval examples."""
    folder = tmp_path / "tiny"
    (folder / "data").mkdir(parents=True)
    for name, n in (("train.jsonl", 8), ("eval.jsonl", 4)):
        lines = (BALANCE / "data" / name).read_text().splitlines()[:n]
        (folder / "data" / name).write_text("\n".join(lines) + "\n")
    text = (BALANCE / "task.yaml").read_text()
    text = text.replace("lora_sft: {epochs: 2, learning_rate: 0.002}", "lora_sft: {epochs: 1, batch_size: 4, rank: 4}")
    text = text.replace("max_new_tokens: 64", "max_new_tokens: 24")
    assert "rank: 4" in text and "max_new_tokens: 24" in text, "the example's task.yaml changed shape"
    (folder / "task.yaml").write_text(text)
    return folder / "task.yaml"
