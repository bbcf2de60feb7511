"""`ladder serve` tests: a tiny random model of the default model's shape, saved as a model folder,
for the server tests that train (a step takes milliseconds instead of the 135M weights' seconds)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

TINY = Path(__file__).resolve().parents[1] / "training" / "tiny.py"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """tests/training/tiny.py's model with the real tokenizer, saved in Hugging Face format
    (`ladder serve --model <this folder>` serves and fine-tunes it)."""
    spec = importlib.util.spec_from_file_location("ladder_test_tiny", TINY)
    assert spec is not None and spec.loader is not None
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    folder = tmp_path_factory.mktemp("tiny-model")
    tiny.tiny_llama(seed=0).save_pretrained(folder, safe_serialization=True)
    tiny.tokenizer().save_pretrained(folder)
    return folder
