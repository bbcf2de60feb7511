"""Decode-step projections computed as weight @ activationsᵀ, the output head in slices.

A decode step multiplies a few rows (one token per row still answering) by every weight of the
model, and those weights (540 MB for the 135M default) come from memory at every step. For such
a product torch's `F.linear` (activations @ weightᵀ) ran at 29-34 GFLOP/s over the 30 layers'
projections of the default model at 20 rows, against 45 for the same product taken the other way
round, weight @ activationsᵀ, which streams each weight row once; the output head (49,152 x 576)
gained most when cut into slices of 2,048 rows, 41 -> 20 ms at 16 rows, 84 -> 40 ms at 50 (AMD
EPYC, AVX2, 2 cores; the figures are in BENCHMARKS.md). With many rows (a prefill) `F.linear` is
the faster one and is kept.

Greedy outputs stayed identical to the F.linear loop on the balance-shift prompts (the tests and
bench/generate.py check them against transformers' own generate), but the two orders can round
differently in the last bit, so the swap lives only inside `generate_rows`, like the attention's.
"""

from __future__ import annotations

import types
from contextlib import contextmanager
from typing import Any, Iterator

# measured up to 96 rows (above it a prefill's shapes): weight-major was the faster order there
MAX_ROWS = 96
HEAD_ROWS = 8192  # a weight with more output rows than this (the output head) goes in slices
SLICE_ROWS = 2048


def weight_major_linear(module: Any, x: Any) -> Any:
    """`module`'s output for `x`: weight @ xᵀ for a few rows without gradients, else F.linear."""
    import torch
    import torch.nn.functional as F

    rows = x.numel() // x.shape[-1] if x.shape[-1] else 0
    if rows == 0 or rows > MAX_ROWS or module.bias is not None or torch.is_grad_enabled():
        return F.linear(x, module.weight, module.bias)
    columns = x.reshape(rows, x.shape[-1]).t()
    weight = module.weight
    if weight.shape[0] > HEAD_ROWS:
        out = torch.cat([piece @ columns for piece in weight.split(SLICE_ROWS)])
    else:
        out = weight @ columns
    # contiguous: the attention reshapes the projections with .view
    return out.t().contiguous().reshape(*x.shape[:-1], weight.shape[0])


@contextmanager
def weight_major_linears(model: Any) -> Iterator[None]:
    """Within the block, every nn.Linear of `model` computes through weight_major_linear (an
    instance attribute, removed on the way out: the model object is the only thing changed)."""
    import torch

    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and "forward" not in m.__dict__]
    for module in linears:
        module.forward = types.MethodType(weight_major_linear, module)
    try:
        yield
    finally:
        for module in linears:
            del module.forward
