"""LoRA SFT on the tiny model (milliseconds a step): the adapter's weights must change and the
loss fall; one slow test shows the same on the real default model's weights."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from ladder.training.args import DpoArgs, LoraArgs, run_settings
from ladder.training import lora_sft
from ladder.training.lora_sft import (IGNORE, MIN_PREFIX_TOKENS_SAVED, collate, labelled_logits, load_train_result,
                                     next_token_loss, shared_prefix_len, tokenize_for_sft, train_lora_sft)
from ladder.types import Message


def _chat(a: int, b: int) -> tuple[Message, Message]:
    return (Message("user", f"Run a balance shift analysis for A = {a} and B = {b}."),
            Message("assistant", f"Balance analysis:\n- Shift value: ({a} - {b}) / ({a} + {b}) = {(a - b) / (a + b):.4f}"))


CHATS = [_chat(a, b) for a, b in [(60, 40), (10, 30), (7, 3), (200, 100)]]
TINY = LoraArgs(rank=4, alpha=8, epochs=4, batch_size=2, learning_rate=1e-2, precision="float32")


def _lora_b(folder) -> list[torch.Tensor]:
    return [t for name, t in load_file(folder / "adapter_model.safetensors").items() if "lora_B" in name]


def test_labels_cover_only_the_answer(tokenizer):
    ids, labels = tokenize_for_sft(tokenizer, CHATS[0], max_length=512)
    assert len(ids) == len(labels)
    answer = [i for i, l in zip(ids, labels) if l != IGNORE]
    text = tokenizer.decode(answer)
    assert text.startswith("Balance analysis:")
    assert "Run a balance shift" not in text
    assert labels[0] == IGNORE


def test_labelled_logits_equal_the_full_forward_at_labelled_positions(tiny_model, tokenizer):
    rows = [tokenize_for_sft(tokenizer, c, 512) for c in CHATS[:3]]
    batch = collate(rows, tokenizer.eos_token_id)
    with torch.no_grad():
        full = tiny_model(**batch)
        logits, targets, row = labelled_logits(tiny_model, batch)
        loss = next_token_loss(tiny_model, batch)
    keep = batch["labels"][:, 1:] != IGNORE
    assert torch.allclose(logits, full.logits[:, :-1][keep].float(), atol=1e-4)
    assert torch.equal(targets, batch["labels"][:, 1:][keep])
    assert row.tolist() == [r for r, (_, labels) in enumerate(rows) for l in labels[1:] if l != IGNORE]
    assert torch.allclose(loss, full.loss, atol=1e-5)


def _positions_run(model, fn) -> int:
    """Token positions the first decoder layer ran during fn()."""
    seen = []
    handle = model.model.layers[0].register_forward_hook(lambda m, args, out: seen.append(args[0].shape[:2].numel()))
    try:
        fn()
    finally:
        handle.remove()
    return sum(seen)


def test_a_shared_prefix_runs_once_with_the_whole_rows_logits_and_gradients(tiny_model, tokenizer):
    rows = [tokenize_for_sft(tokenizer, _chat(a, 100 - a), 512) for a in (60, 10, 7, 200, 35, 81, 5, 99)]
    batch = collate(rows, tokenizer.eos_token_id)
    prefix = shared_prefix_len(batch)
    rendered = tokenizer.apply_chat_template([_chat(60, 40)[0].to_dict()], tokenize=False)
    assert prefix == len(tokenizer(rendered[:rendered.index("A = ") + 4], add_special_tokens=False)["input_ids"])
    assert (len(rows) - 1) * prefix >= MIN_PREFIX_TOKENS_SAVED  # worth sharing by the trainer's own rule
    results = {}
    for share in (True, False):
        tiny_model.zero_grad()

        def step():
            logits, targets, row = labelled_logits(tiny_model, batch, share_prefix=share)
            torch.nn.functional.cross_entropy(logits, targets).backward()
            results[share] = logits.detach(), targets, row

        ran = _positions_run(tiny_model, step)
        assert ran == batch["input_ids"].numel() - (len(rows) - 1 if share else 0) * prefix
        results[share] += ({n: p.grad.clone() for n, p in tiny_model.named_parameters()},)
    (shared, targets, row, grads), (whole, targets_w, row_w, grads_w) = results[True], results[False]
    assert torch.allclose(shared, whole, atol=1e-5) and torch.equal(targets, targets_w) and torch.equal(row, row_w)
    for name, grad in grads.items():
        assert torch.allclose(grad, grads_w[name], rtol=1e-4, atol=1e-6), name


def test_a_short_shared_prefix_runs_in_every_row(tiny_model, tokenizer):
    batch = collate([tokenize_for_sft(tokenizer, c, 512) for c in CHATS], tokenizer.eos_token_id)
    assert 0 < (len(CHATS) - 1) * shared_prefix_len(batch) < MIN_PREFIX_TOKENS_SAVED
    with torch.no_grad():
        assert _positions_run(tiny_model, lambda: labelled_logits(tiny_model, batch)) == batch["input_ids"].numel()


def test_a_shared_prefix_stops_before_the_first_scored_prediction(tiny_model, tokenizer, monkeypatch):
    monkeypatch.setattr(lora_sft, "MIN_PREFIX_TOKENS_SAVED", 0)  # three rows: shared whatever they save
    ask = Message("user", "Run a balance shift analysis for A = 60 and B = 40.")
    rows = [tokenize_for_sft(tokenizer, (ask, Message("assistant", f"Balance analysis:\n- Shift value: {v}")), 512)
            for v in ("0.2000", "0.3000", "0.1000")]
    batch = collate(rows, tokenizer.eos_token_id)
    first_label = min(labels.index(next(l for l in labels if l != IGNORE)) for _, labels in rows)
    assert shared_prefix_len(batch) == first_label - 1  # the answers' common start stays per row
    results = []
    with torch.no_grad():
        full = tiny_model(**batch)
        ran = _positions_run(tiny_model, lambda: results.append(labelled_logits(tiny_model, batch)))
    logits, targets, _ = results[0]
    assert ran == batch["input_ids"].numel() - 2 * (first_label - 1)
    keep = batch["labels"][:, 1:] != IGNORE
    assert torch.allclose(logits, full.logits[:, :-1][keep].float(), atol=1e-4)
    assert torch.equal(targets, batch["labels"][:, 1:][keep])


def test_bf16_training_keeps_an_fp32_adapter_and_lowers_loss(tiny_model, tokenizer, tmp_path):
    args = TINY.model_copy(update={"precision": "bfloat16"})
    result = train_lora_sft(tiny_model, tokenizer, CHATS, args, tmp_path / "adapter", seed=0)
    weights = load_file(tmp_path / "adapter" / "adapter_model.safetensors")
    assert {t.dtype for t in weights.values()} == {torch.float32}
    assert all(torch.count_nonzero(t) > 0 for t in _lora_b(tmp_path / "adapter"))
    assert result.losses[-1] < result.losses[0]
    assert json.loads((tmp_path / "adapter" / "training.json").read_text())["config"]["bf16"] is True


def test_lora_step_changes_adapter_weights_and_lowers_loss(tiny_model, tokenizer, tmp_path):
    out = tmp_path / "adapter"
    result = train_lora_sft(tiny_model, tokenizer, CHATS, TINY, out, seed=0)

    assert (out / "adapter_model.safetensors").exists() and (out / "adapter_config.json").exists()
    assert not list(out.glob("*.bin")) and not list(out.glob("*.pt"))
    lora_b = _lora_b(out)
    assert lora_b, "no LoRA B matrices saved"
    # peft initialises every B matrix to zero: non-zero B means training moved the weights.
    assert all(torch.count_nonzero(t) > 0 for t in lora_b)
    assert result.steps == 8
    assert result.losses[-1] < result.losses[0]
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 4
    assert json.loads((out / "training.json").read_text())["config"] == run_settings(TINY, 0)

    again = load_train_result(out)
    assert again is not None and again.steps == result.steps and again.train_tokens == result.train_tokens


def test_retraining_into_the_same_folder_replaces_the_adapter(tiny_model, tokenizer, tmp_path):
    from .tiny import tiny_llama

    out = tmp_path / "adapter"
    train_lora_sft(tiny_model, tokenizer, CHATS, TINY, out, seed=0, checkpoint_every=0)
    first = _lora_b(out)
    train_lora_sft(tiny_llama(seed=0), tokenizer, CHATS, TINY.model_copy(update={"rank": 2}), out, seed=0,
                   checkpoint_every=0)
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 2
    assert [t.shape[1] for t in _lora_b(out)] == [2] * len(first)
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]  # no staging or old folder left beside it


def test_folder_without_manifest_is_not_reused(tmp_path):
    (tmp_path / "adapter_model.safetensors").write_bytes(b"half-written")
    assert load_train_result(tmp_path) is None


def test_run_settings_key_every_lora_argument_and_resolve_precision():
    settings = run_settings(LoraArgs(precision="bfloat16", early_stop_patience=1, early_stop_measure="loss"), seed=3)
    # early-stop fields only when one runs, processes only above 1; the launcher never (it changes no weight)
    assert set(LoraArgs.model_fields) - {"precision", "launcher", "processes"} <= set(settings)
    assert "processes" not in settings and run_settings(LoraArgs(processes=2), 3)["processes"] == 2
    assert run_settings(LoraArgs(launcher="accelerate launch"), 3) == run_settings(LoraArgs(), 3)
    assert settings["bf16"] is True and settings["seed"] == 3
    assert run_settings(LoraArgs(precision="float32"), 3)["bf16"] is False
    for field, value in (("rank", 8), ("alpha", 4), ("learning_rate", 0.5), ("epochs", 9), ("batch_size", 3),
                         ("max_length", 64), ("early_stop_patience", 3)):
        assert run_settings(LoraArgs(**{field: value}, early_stop_measure="loss"), 3)[field] == value
    # DPO's own arguments are keyed by its trainer with the pairs, not here
    assert run_settings(DpoArgs(beta=0.5, nll_weight=0.0), 3) == run_settings(DpoArgs(), 3)


@pytest.mark.slow
def test_real_weights_loss_falls(tmp_path):
    from ladder.backends.local_models import load_model_and_tokenizer

    model, tok = load_model_and_tokenizer("smollm2-135m-instruct")
    args = LoraArgs(rank=4, alpha=8, epochs=4, batch_size=2, learning_rate=2e-3, precision="float32")
    result = train_lora_sft(model, tok, CHATS, args, tmp_path / "adapter", seed=0)
    assert all(torch.count_nonzero(t) > 0 for t in _lora_b(tmp_path / "adapter"))
    assert result.steps == 8
    assert result.losses[-1] < result.losses[0]
