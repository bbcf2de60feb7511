"""Decode-step projections as weight @ rowsᵀ: the same products as F.linear, only where they pay,
and only inside the block."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ladder.backends.weight_major import HEAD_ROWS, MAX_ROWS, weight_major_linear, weight_major_linears


def linear(n_in: int, n_out: int, bias: bool = False) -> torch.nn.Linear:
    torch.manual_seed(0)
    return torch.nn.Linear(n_in, n_out, bias=bias)


@pytest.mark.parametrize("shape", [(4, 1, 64), (3, 64), (1, 1, 64)])
def test_a_few_rows_get_the_same_product_in_the_same_shape(shape) -> None:
    layer, x = linear(64, 96), torch.randn(*shape)
    with torch.inference_mode():
        out = weight_major_linear(layer, x)
        assert out.shape == (*shape[:-1], 96) and out.is_contiguous()
        assert torch.allclose(out, F.linear(x, layer.weight), atol=1e-5)


def test_the_output_head_goes_in_slices_with_the_same_result() -> None:
    head, x = linear(32, HEAD_ROWS + 1000), torch.randn(5, 1, 32)
    with torch.inference_mode():
        assert torch.allclose(weight_major_linear(head, x), F.linear(x, head.weight), atol=1e-5)


def test_many_rows_a_bias_or_gradients_keep_f_linear_exactly() -> None:
    layer = linear(64, 96)
    many = torch.randn(MAX_ROWS + 1, 64)
    with torch.inference_mode():
        assert torch.equal(weight_major_linear(layer, many), F.linear(many, layer.weight))
        biased = linear(64, 96, bias=True)
        few = torch.randn(3, 64)
        assert torch.equal(weight_major_linear(biased, few), F.linear(few, biased.weight, biased.bias))
    few = torch.randn(3, 64)
    out = weight_major_linear(layer, few)  # training: autograd sees F.linear
    assert torch.equal(out, F.linear(few, layer.weight)) and out.requires_grad


def test_the_swap_lasts_only_for_the_block() -> None:
    model = torch.nn.Sequential(linear(64, 96), torch.nn.ReLU(), linear(96, 8))
    x = torch.randn(2, 64)
    with torch.inference_mode():
        before = model(x)
        with weight_major_linears(model):
            assert all("forward" in m.__dict__ for m in model if isinstance(m, torch.nn.Linear))
            inside = model(x)
        assert all("forward" not in m.__dict__ for m in model)
        assert torch.allclose(inside, before, atol=1e-5) and torch.equal(model(x), before)
