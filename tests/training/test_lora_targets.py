"""LoRA adapts the projections of any local causal LM: the Llama/Gemma names where the model has
them, else every linear layer. Tiny randomly initialised transformers models, real PEFT."""

from __future__ import annotations

import pytest

from ladder.training.args import TARGET_MODULES, lora_targets


def _tiny(kind: str):
    import transformers

    if kind == "llama":
        config = transformers.LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                          num_attention_heads=2, num_key_value_heads=1)
        return transformers.LlamaForCausalLM(config)
    if kind == "gemma3":
        config = transformers.Gemma3TextConfig(vocab_size=64, hidden_size=16, intermediate_size=32,
                                               num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                               head_dim=8)
        return transformers.Gemma3ForCausalLM(config)
    config = transformers.GPT2Config(vocab_size=64, n_positions=32, n_embd=16, n_layer=1, n_head=2)
    return transformers.GPT2LMHeadModel(config)


@pytest.mark.parametrize("kind, want", [("llama", list(TARGET_MODULES)), ("gemma3", list(TARGET_MODULES)),
                                        ("gpt2", "all-linear")])
def test_lora_adapts_each_architectures_projections(kind, want):
    from peft import LoraConfig, get_peft_model

    model = _tiny(kind)
    targets = lora_targets(model)
    assert targets == want
    peft_model = get_peft_model(model, LoraConfig(r=2, lora_alpha=4, target_modules=targets, task_type="CAUSAL_LM"))
    adapted = {n.split(".lora_A")[0].rsplit(".", 1)[-1] for n, p in peft_model.named_parameters()
               if p.requires_grad and ".lora_A" in n}
    # every projection of the block is adapted, and never the output head
    assert adapted == (set(TARGET_MODULES) if kind != "gpt2" else {"c_attn", "c_proj", "c_fc"})


@pytest.mark.parametrize("kind, want", [("llama", list(TARGET_MODULES)), ("gpt2", "all-linear")])
def test_the_manifest_names_the_modules_the_adapter_really_adapts(kind, want, tmp_path):
    import json

    from ladder.training.args import LoraArgs
    from ladder.training.loop import IGNORE
    from ladder.training.lora_sft import train_on_rows

    rows = [([1, 2, 3, 4, 5, 6], [IGNORE, IGNORE, IGNORE, 4, 5, 6])] * 2
    train_on_rows(_tiny(kind), rows, 0, LoraArgs(rank=2, alpha=4, epochs=1, batch_size=2, precision="float32"),
                  tmp_path / "adapter", seed=0)
    manifest = json.loads((tmp_path / "adapter" / "training.json").read_text())
    assert manifest["config"]["target_modules"] == want
