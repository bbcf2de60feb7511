"""A tiny randomly initialised model of the default model's shape, for training tests.

The default model's own config (Llama: vocabulary, special tokens, RoPE, tied embeddings) cut
to one layer of width 16, so a training step takes milliseconds instead of the 135M weights'
seconds. It goes with the real tokenizer, so chat templates, answer masks and lengths are the
ones ladder trains on. Imported by conftest.py and by resume_worker.py (a separate process),
which both build the same weights from the same seed.
"""

from __future__ import annotations

from typing import Any

from ladder.backends.local_models import converted_dir, load_tokenizer

MODEL = "smollm2-135m-instruct"


def tokenizer() -> Any:
    return load_tokenizer(MODEL)


def tiny_llama(seed: int = 0) -> Any:
    """A fresh 1-layer, 16-wide Llama with the default model's vocabulary; weights fixed by `seed`."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(str(converted_dir(MODEL)), local_files_only=True)
    # initializer_range 0.3 (not 0.02): with tied embeddings that small, a 16-wide model's logits
    # are near uniform and a few LoRA steps can hardly move them.
    config.update({"num_hidden_layers": 1, "hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 4,
                   "num_key_value_heads": 2, "head_dim": 4, "initializer_range": 0.3})
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.eval()
    return model
