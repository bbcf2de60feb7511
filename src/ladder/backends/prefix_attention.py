"""Attention that reads each shared prompt prefix once for the whole batch.

The rows of a rung's batch share a long prefix (system prompt, instructions, demonstrations:
~280 of ~350 tokens on the instructed balance-shift rung), and a batch may hold several rungs'
rows, one group per prefix (batching.prefix_groups). Standard attention over a cache holding a
copy of the prefix in every row reads it once per row at every layer of every step: memory-bound
on a CPU (about a quarter of an instructed batch's time, AMD EPYC, 2 cores).

Here generate_rows keeps each group's prefix keys and values once, in a bank outside the batch's
cache, and every query (a decode step's one per row and head, or a row's own prompt tokens at
prefill) attends in two parts that are then softmaxed together: its group's prefix, as one
matrix product per KV head for all the group's queries at once; and its row's own slots (the
row's suffix and the tokens generated so far), up to the last written slot rather than the whole
preallocated cache. Padding and causality within the own slots come from the loop's own mask,
so transformers is told to build none (`_no_mask`); at prefill this also spares sdpa's copies of
every KV head for its query heads.

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
    """Attention as transformers calls its attention functions, for a batch whose rows each
    continue a prompt prefix held outside the KV cache. `kwargs` carries the loop's
    `prefix_banks` (each layer's prefixes' keys and values, [KV heads, slots, head dim]),
    `prefix_groups` ((first row, end row, first bank slot, end bank slot) of each group of rows
    side by side that continue one prefix), `kv_end` (one past the last written cache slot) and
    `own_mask` ([rows, queries, kv_end] booleans: which of its row's own slots each query
    attends to)."""
    import torch

    if "prefix_banks" not in kwargs:
        # only generate_rows swaps this attention in, and only for its own calls; building sdpa's
        # mask at every step so that a concurrent caller could fall back cost 15-20% of a batch
        raise RuntimeError("the model was called outside generate_rows while its shared-prefix attention was in "
                           "place: one model answers one batch at a time")
    bank_keys, bank_values = kwargs["prefix_banks"][module.layer_idx]
    end, own_mask = kwargs["kv_end"], kwargs["own_mask"]
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    parts = [_attend(query[r0:r1], bank_keys[:, b0:b1], bank_values[:, b0:b1], key[r0:r1, :, :end],
                     value[r0:r1, :, :end], own_mask[r0:r1], scale)
             for r0, r1, b0, b1 in kwargs["prefix_groups"]]
    out = parts[0] if len(parts) == 1 else torch.cat(parts)
    return out.transpose(1, 2), None


def _attend(query: Any, prefix_keys: Any, prefix_values: Any, own_keys: Any, own_values: Any, own_mask: Any,
            scale: float) -> Any:
    """One group's attention: its rows' queries against the prefix they share and their own slots,
    softmaxed together; [rows, heads, queries, head dim]."""
    import torch

    rows, heads, queries, dim = query.shape
    kv_heads, shared = prefix_keys.shape[0], prefix_keys.shape[1]
    group = heads // kv_heads  # query heads per KV head, consecutive as in repeat_kv
    q = query.reshape(rows, kv_heads, group * queries, dim)
    # the prefix: every row's queries of a KV head against its keys, one product per head
    by_head = q.permute(1, 0, 2, 3).reshape(kv_heads, rows * group * queries, dim)
    prefix_scores = torch.bmm(by_head, prefix_keys.transpose(1, 2))
    prefix_scores = prefix_scores.view(kv_heads, rows, group * queries, shared).permute(1, 0, 2, 3)
    own_scores = torch.matmul(q, own_keys.transpose(-1, -2))  # [rows, kv_heads, group * queries, own]
    own = own_keys.shape[2]
    hidden = ~own_mask[:, None, None].expand(rows, 1, group, queries, own).reshape(rows, 1, group * queries, own)
    own_scores = own_scores.masked_fill(hidden, float("-inf"))
    probs = torch.softmax(torch.cat([prefix_scores, own_scores], -1) * scale, dim=-1)
    prefix_probs = probs[..., :shared].permute(1, 0, 2, 3).reshape(kv_heads, rows * group * queries, shared)
    out = torch.bmm(prefix_probs, prefix_values).view(kv_heads, rows, group * queries, dim).permute(1, 0, 2, 3)
    out = out + torch.matmul(probs[..., shared:], own_values)
    return out.reshape(rows, heads, queries, dim)


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
