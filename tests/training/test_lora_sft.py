"""A real LoRA run on the real default model: the adapter's weights must change."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from ladder.backends.local import load_model_and_tokenizer
from ladder.training.lora_sft import (IGNORE, SFTConfig, collate, labelled_logits, load_train_result,
                                     next_token_loss, tokenize_for_sft, train_lora_sft)
from ladder.types import Message

pytestmark = pytest.mark.slow

CHATS = [
    (Message("user", f"Run a balance shift analysis for A = {a} and B = {b}."),
     Message("assistant", f"Balance analysis:\n- Shift value: ({a} - {b}) / ({a} + {b}) = {(a - b) / (a + b):.4f}"))
    for a, b in [(60, 40), (10, 30), (7, 3), (200, 100)]
]


@pytest.fixture(scope="module")
def model_and_tokenizer():
    return load_model_and_tokenizer("smollm2-135m-instruct")


def test_labels_cover_only_the_answer(model_and_tokenizer):
    _, tok = model_and_tokenizer
    ids, labels = tokenize_for_sft(tok, CHATS[0], max_length=512)
    assert len(ids) == len(labels)
    answer = [i for i, l in zip(ids, labels) if l != IGNORE]
    text = tok.decode(answer)
    assert text.startswith("Balance analysis:")
    assert "Run a balance shift" not in text
    assert labels[0] == IGNORE


def test_labelled_logits_equal_the_full_forward_at_labelled_positions(model_and_tokenizer):
    import torch

    model, tok = model_and_tokenizer
    rows = [tokenize_for_sft(tok, c, 512) for c in CHATS[:3]]
    batch = collate(rows, tok.eos_token_id)
    with torch.no_grad():
        full = model(**batch)
        logits, targets, row = labelled_logits(model, batch)
        loss = next_token_loss(model, batch)
    keep = batch["labels"][:, 1:] != IGNORE
    assert torch.allclose(logits, full.logits[:, :-1][keep].float(), atol=1e-4)
    assert torch.equal(targets, batch["labels"][:, 1:][keep])
    assert row.tolist() == [r for r, (_, labels) in enumerate(rows) for l in labels[1:] if l != IGNORE]
    assert torch.allclose(loss, full.loss, atol=1e-5)


def test_bf16_training_keeps_an_fp32_adapter_and_lowers_loss(tmp_path):
    import torch

    model, tok = load_model_and_tokenizer("smollm2-135m-instruct")
    config = SFTConfig(rank=4, alpha=8, epochs=4, batch_size=2, learning_rate=2e-3, seed=0, bf16=True)
    result = train_lora_sft(model, tok, CHATS, config, tmp_path / "adapter")
    weights = load_file(tmp_path / "adapter" / "adapter_model.safetensors")
    assert {t.dtype for t in weights.values()} == {torch.float32}
    assert all(torch.count_nonzero(t) > 0 for name, t in weights.items() if "lora_B" in name)
    assert result.losses[-1] < result.losses[0]


def test_lora_step_changes_adapter_weights_and_lowers_loss(tmp_path):
    import torch

    model, tok = load_model_and_tokenizer("smollm2-135m-instruct")
    config = SFTConfig(rank=4, alpha=8, epochs=4, batch_size=2, learning_rate=2e-3, seed=0)
    out = tmp_path / "adapter"
    result = train_lora_sft(model, tok, CHATS, config, out)

    assert (out / "adapter_model.safetensors").exists() and (out / "adapter_config.json").exists()
    assert not list(out.glob("*.bin")) and not list(out.glob("*.pt"))
    weights = load_file(out / "adapter_model.safetensors")
    lora_b = [t for name, t in weights.items() if "lora_B" in name]
    assert lora_b, "no LoRA B matrices saved"
    # peft initialises every B matrix to zero: non-zero B means training moved the weights.
    assert all(torch.count_nonzero(t) > 0 for t in lora_b)
    assert result.steps == 8
    assert result.losses[-1] < result.losses[0]
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 4

    again = load_train_result(out)
    assert again is not None and again.steps == result.steps and again.train_tokens == result.train_tokens


def test_folder_without_manifest_is_not_reused(tmp_path):
    (tmp_path / "adapter_model.safetensors").write_bytes(b"half-written")
    assert load_train_result(tmp_path) is None
