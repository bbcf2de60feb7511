"""DPO and continued pre-training on the tiny model (tiny.py), tiny data."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError
from safetensors.torch import load_file

from ladder.training.args import DpoArgs, LoraArgs
from ladder.training.cpt import chunk_texts, train_lora_cpt
from ladder.training.dpo import PreferencePair, preference_margins, train_lora_dpo
from ladder.training.lora_sft import IGNORE
from ladder.types import Message

DPO = DpoArgs(rank=4, alpha=8, epochs=3, batch_size=2, learning_rate=1e-2, precision="float32", beta=0.1,
              nll_weight=0.0)


def _pair(city: str, temp: int) -> PreferencePair:
    prompt = (Message("user", f"Weather report for {city}, {temp} degrees."),)
    # preferred: a fixed JSON form; not preferred: the same facts as loose prose
    return PreferencePair(prompt, f'{{"city": "{city}", "temp": {temp}}}', f"It is {temp} degrees in {city} today.")


TRAIN = [_pair(c, t) for c, t in [("Oslo", 3), ("Lima", 19), ("Pune", 31), ("Kyiv", -2), ("Rome", 22), ("Doha", 38)]]
HELD_OUT = [_pair(c, t) for c, t in [("Bern", 11), ("Accra", 29), ("Quito", 14)]]


def _b_matrices_nonzero(folder) -> bool:
    weights = load_file(folder / "adapter_model.safetensors")
    b = [t for k, t in weights.items() if "lora_B" in k]
    return bool(b) and all(torch.count_nonzero(t) > 0 for t in b)


def test_dpo_raises_held_out_margin_and_lowers_loss(tiny_model, tokenizer, tmp_path):
    model, tok = tiny_model, tokenizer
    before = preference_margins(model, tok, HELD_OUT)
    result = train_lora_dpo(model, tok, TRAIN, DPO, tmp_path / "dpo", seed=0)
    after = preference_margins(model, tok, HELD_OUT)  # `model` now carries the trained adapter

    assert _b_matrices_nonzero(tmp_path / "dpo")
    assert result.steps == 9
    # the first step's loss is log 2 exactly (policy == reference); it must go down from there
    assert result.losses[0] == pytest.approx(0.6931, abs=1e-3)
    assert result.final_loss < result.losses[0]
    assert sum(after) / len(after) > sum(before) / len(before) + 1.0, (before, after)
    assert all(a > b for a, b in zip(after, before))


def test_nll_weight_keeps_the_chosen_answers_likely(tiny_model, tokenizer, tmp_path):
    from ladder.training.dpo import sequence_logps, tokenize_pair
    from ladder.training.lora_sft import pad_id_of

    model, tok = tiny_model, tokenizer
    chosen_rows = [tokenize_pair(tok, p, 512)[0] for p in HELD_OUT]
    with torch.no_grad():
        before = sequence_logps(model, chosen_rows, pad_id_of(tok))
    train_lora_dpo(model, tok, TRAIN, DPO.model_copy(update={"nll_weight": 1.0}), tmp_path / "rpo", seed=0)
    with torch.no_grad():
        after = sequence_logps(model, chosen_rows, pad_id_of(tok))
    # the held-out preferred JSON answers became more likely, not only relatively more likely
    assert (after > before).all(), (before, after)


def test_dpo_arguments_are_validated_once_where_declared():
    with pytest.raises(ValidationError, match="nll_weight"):
        DpoArgs(nll_weight=-1.0)
    with pytest.raises(ValidationError, match="beta"):
        DpoArgs(beta=0.0)
    assert DpoArgs().learning_rate == 5e-4 and LoraArgs().learning_rate == 1e-3


def test_cpt_trains_on_every_token_and_lowers_loss(tiny_model, tokenizer, tmp_path):
    model, tok = tiny_model, tokenizer
    texts = [
        "The Brannock valve regulates flow in the Tessel line. Operators open the Brannock valve at dawn.",
        "A Tessel line carries glycol between the Harwick pumps; the Brannock valve sits after pump two.",
    ] * 3
    rows = chunk_texts(tok, texts, max_length=32)
    assert rows and all(len(ids) <= 32 and ids == labels and IGNORE not in labels for ids, labels in rows)
    args = LoraArgs(rank=4, alpha=8, epochs=3, batch_size=4, learning_rate=1e-2, max_length=32, precision="float32")
    result = train_lora_cpt(model, tok, texts, args, tmp_path / "cpt", seed=0)
    assert _b_matrices_nonzero(tmp_path / "cpt")
    assert result.final_loss < result.losses[0]
    assert result.train_tokens == sum(len(r[0]) for r in rows) * 3
