"""Training throughput figures: tokens per second and model FLOPs utilisation (MFU).

MFU = the FLOP/s a LoRA step performs / the matmul FLOP/s this machine measured in the training
dtype. The usual 6 x parameters per token (Kaplan et al. 2020) is a full fine-tune's count: a
forward (2N), the activation gradients (2N) and the weight gradients (2N). A LoRA step has no
weight gradients for the frozen base, and ladder computes logits only at labelled positions, so
`lora_step_flops` counts per token 2F + 2F for the frozen block weights F, 6 x the LoRA weights,
and 4 x the output head only at labelled positions. Counting 6 x all parameters instead
overstates MFU about 1.8x for SmolLM2-135M with rank-16 LoRA on every projection (6 x 135M
against 4 x 106M frozen + 6 x 4.9M LoRA FLOPs per token). It is a yardstick between runs on one machine, not an efficiency claim.
"""

from __future__ import annotations

from typing import Any


def lora_weight_counts(model: Any) -> tuple[int, int, int]:
    """(frozen, lora, head): weights of the frozen matmuls in the blocks, of the trainable (LoRA)
    matmuls, and of the output head, in a peft-wrapped causal LM. Embedding lookups do no matmul."""
    import torch

    head = model.get_output_embeddings()
    frozen = lora = 0
    for module in model.modules():
        if not isinstance(module, torch.nn.Linear) or module is head:
            continue
        if module.weight.requires_grad:
            lora += module.weight.numel()
        else:
            frozen += module.weight.numel()
    return frozen, lora, head.weight.numel()


def lora_step_flops(frozen: int, lora: int, head: int, tokens: int, labelled_tokens: int) -> float:
    """Matmul FLOPs of LoRA training over `tokens` tokens, `labelled_tokens` of which get logits.

    Per token: frozen weights forward 2F and activation gradients 2F (no weight gradients);
    LoRA weights forward 2L, activation and weight gradients 4L; per labelled position: head
    forward 2H and activation gradient 2H (a tied or frozen head has no weight gradient).

    Approximations, and their direction: attention scores (QK^T and AV, about 12 x layers x
    width x mean context per token) and element-wise work are left out (an undercount); the
    first block's q/k/v activation gradients (frozen and LoRA A weights), which autograd skips
    because nothing below needs them, are counted (an overcount of 2 x those weights per token).
    The undercount is the larger once the mean context exceeds about (width + 2 x kv width) /
    (6 x layers) tokens, 5 for SmolLM2-135M: the result is a lower bound, and MFU is understated,
    never overstated (tests/training/test_throughput.py checks it against torch's FLOP counter).
    Work a trainer adds outside the step (DPO's reference log-probabilities) is not counted either.
    """
    return tokens * (4 * frozen + 6 * lora) + labelled_tokens * 4 * head


def mfu(flops_per_s: float, peak_flops: float) -> float:
    """Model FLOPs utilisation: the FLOP/s a step performs (`lora_step_flops` / seconds) over the
    measured peak (`hardware.matmul_peaks`)."""
    return flops_per_s / peak_flops if peak_flops > 0 else 0.0
