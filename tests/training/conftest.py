"""Training tests run on a tiny random Llama (tiny.py) with the real tokenizer: milliseconds a step."""

from __future__ import annotations

import pytest

from .tiny import tiny_llama
from .tiny import tokenizer as load_tiny_tokenizer


@pytest.fixture(scope="session")
def tokenizer():
    """The default model's real tokenizer (read from ladder's local model cache, never the hub)."""
    return load_tiny_tokenizer()


@pytest.fixture()
def tiny_model():
    """A fresh tiny model for each test (training wraps it in place), the same weights every time."""
    return tiny_llama(seed=0)
