"""Attention that reads the shared prompt prefix once for the whole batch.

The rows of a rung's batch share a long prefix (system prompt, instructions, demonstrations:
~280 of ~350 cache slots on the instructed balance-shift rung). generate_rows (batching.py)
copies that prefix's KV into every row's slots, so the standard attention of a decode step
reads it once per row: 50 copies of the same keys and values at every layer of every step,
memory-bound on a CPU (about a quarter of an instructed batch's time, AMD EPYC, 2 cores).

Here every query (a decode step's one per row and head, or a row's own prompt tokens at
prefill) attends in two parts that are then softmaxed together: the prefix, read from row 0
only, as one matrix product per KV head for all rows' queries at once; and its row's own slots
(the row's suffix and the tokens generated so far), up to the last written slot rather than the
whole preallocated cache. Padding and causality within the own slots come from the loop's own
mask, so transformers is told to build none (`_no_mask`); at prefill this also spares sdpa's
copies of every KV head for its query heads.

The arithmetic is the same attention in a different order of summation, not bit-for-bit sdpa's:
tests/backends/test_batching.py checks the greedy outputs against transformers' own generate.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

NAME = "ladder_shared_prefix"


def _no_mask(*args: Any, **kwargs: Any) -> None:
    """transformers' mask builder for this attention: none, it masks with the loop's own."""
    return None


def shared_prefix_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
                            scaling: float | None = None, dropout: float = 0.0, **kwargs: Any) -> tuple[Any, None]:
    """Attention as transformers calls its attention functions, for a batch whose first
    `shared_prefix` cache slots hold the same tokens in every row. `kwargs` carries the loop's
    `shared_prefix`, `kv_end` (one past the last written slot) and `own_mask` ([rows, queries,
    kv_end - shared_prefix] booleans: which of its row's own slots each query attends to)."""
    import torch

    if "shared_prefix" not in kwargs:
        # only generate_rows swaps this attention in, and only for its own calls; building sdpa's
        # mask at every step so that a concurrent caller could fall back cost 15-20% of a batch
        raise RuntimeError("the model was called outside generate_rows while its shared-prefix attention was in "
                           "place: one model answers one batch at a time")
    shared, end, own_mask = kwargs["shared_prefix"], kwargs["kv_end"], kwargs["own_mask"]
    rows, heads, queries, dim = query.shape
    kv_heads = key.shape[1]
    group = heads // kv_heads  # query heads per KV head, consecutive as in repeat_kv
    scale = scaling if scaling is not None else dim ** -0.5
    q = query.reshape(rows, kv_heads, group * queries, dim)
    # the prefix: every row's queries of a KV head against row 0's prefix keys, one product per head
    by_head = q.permute(1, 0, 2, 3).reshape(kv_heads, rows * group * queries, dim)
    prefix_scores = torch.bmm(by_head, key[0, :, :shared].transpose(1, 2))
    prefix_scores = prefix_scores.view(kv_heads, rows, group * queries, shared).permute(1, 0, 2, 3)
    own_keys, own_values = key[:, :, shared:end], value[:, :, shared:end]
    own_scores = torch.matmul(q, own_keys.transpose(-1, -2))  # [rows, kv_heads, group * queries, own]
    hidden = ~own_mask[:, None, None].expand(rows, 1, group, queries, end - shared).reshape(rows, 1, group * queries, -1)
    own_scores = own_scores.masked_fill(hidden, float("-inf"))
    probs = torch.softmax(torch.cat([prefix_scores, own_scores], -1) * scale, dim=-1)
    prefix_probs = probs[..., :shared].permute(1, 0, 2, 3).reshape(kv_heads, rows * group * queries, shared)
    out = torch.bmm(prefix_probs, value[0, :, :shared]).view(kv_heads, rows, group * queries, dim).permute(1, 0, 2, 3)
    out = out + torch.matmul(probs[..., shared:], own_values)
    return out.reshape(rows, heads, queries, dim).transpose(1, 2), None


def _register() -> None:
    """Make NAME known to transformers (idempotent: a registry entry, changing no other model)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(NAME, shared_prefix_attention)
    AttentionMaskInterface.register(NAME, _no_mask)


@contextmanager
def shared_prefix_attending(model: Any) -> Iterator[None]:
    """Within the block, `model` attends with shared_prefix_attention (its config's attention
    implementation swapped, then restored: the model object is the only thing changed)."""
    _register()
    config = model.config
    before = config._attn_implementation
    config._attn_implementation = NAME
    try:
        yield
    finally:
        config._attn_implementation = before
