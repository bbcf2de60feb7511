"""MFU counts the FLOPs a LoRA step performs: checked against torch's FLOP counter on a tiny
random Llama (one real step, logits at labelled positions only)."""

import pytest

from ladder.hardware import matmul_flops
from ladder.training.throughput import lora_step_flops, lora_weight_counts, mfu


def test_mfu_arithmetic():
    assert mfu(3e11, 1e12) == pytest.approx(0.3)
    assert mfu(1.0, 0.0) == 0.0


def test_lora_step_flops_arithmetic():
    # per token 4 x frozen + 6 x lora; per labelled position 4 x head
    assert lora_step_flops(frozen=100, lora=10, head=50, tokens=7, labelled_tokens=3) == 7 * (400 + 60) + 3 * 200
    # a full fine-tune's 6 x N per token is well above a LoRA step's count
    assert lora_step_flops(100, 0, 50, 1, 1) < 6 * (100 + 50)


def _tiny_lora_llama(rank: int = 4):
    """A 2-layer, 64-wide random Llama with LoRA on every projection (milliseconds per step)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True,
                         attn_implementation="eager")  # attention as matmuls torch's counter sees
    model = LlamaForCausalLM(config)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    return get_peft_model(model, LoraConfig(r=rank, lora_alpha=8, target_modules=targets, task_type="CAUSAL_LM")), config


def test_weight_counts_of_a_lora_model():
    model, c = _tiny_lora_llama(rank=4)
    h, i, kv, layers = c.hidden_size, c.intermediate_size, c.hidden_size // 2, c.num_hidden_layers
    frozen, lora, head = lora_weight_counts(model)
    assert frozen == layers * (2 * h * h + 2 * h * kv + 3 * h * i)
    shapes = [(h, h), (h, kv), (h, kv), (h, h), (h, i), (h, i), (i, h)]  # (in, out) of each target
    assert lora == layers * sum(4 * (a + b) for a, b in shapes)
    assert head == c.vocab_size * h


def test_count_matches_what_torch_performs():
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model, c = _tiny_lora_llama()
    seq, labelled = 48, 12
    ids = torch.randint(0, c.vocab_size, (1, seq))
    counter = FlopCounterMode(display=False)
    with counter:
        hidden = model.base_model.model.model(input_ids=ids).last_hidden_state
        logits = model.get_output_embeddings()(hidden[0, -labelled - 1 : -1])
        torch.nn.functional.cross_entropy(logits, ids[0, -labelled:]).backward()
    performed = counter.get_total_flops()
    counted = lora_step_flops(*lora_weight_counts(model), tokens=seq, labelled_tokens=labelled)
    # what the count leaves out: attention scores, forward QK^T and AV (2 x 2 x h x seq^2 per layer
    # as computed, unmasked) and twice that backward; what it adds: layer 0's q/k/v input
    # gradients (frozen weights and LoRA A), which autograd skips since nothing below needs them
    h, kv, rank = c.hidden_size, c.hidden_size // 2, 4
    attention = c.num_hidden_layers * 3 * 4 * h * seq * seq
    first_qkv = 2 * seq * h * (h + 2 * kv) + 2 * seq * 3 * rank * h
    assert performed == counted + attention - first_qkv
    assert counted < performed  # a lower bound: MFU is never overstated
    # the old 6 x all parameters x tokens overstates what a LoRA step does
    assert 6 * sum(p.numel() for p in model.parameters()) * seq > 1.3 * performed


def test_matmul_flops_is_measured_and_positive():
    flops = matmul_flops("float32", size=128, seconds=0.05)
    assert 1e6 < flops < 1e15
