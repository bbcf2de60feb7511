"""Batched generation for a transformers causal LM, reusing the KV cache of a shared prefix.

The rows of one rung's batch usually share a long prefix (system prompt, instructions,
few-shot demonstrations). That prefix is prefilled once at batch size 1 and its KV cache copied
to every row; each row then prefills only its own suffix. Rows are laid out as

    [shared prefix][left padding][row's own suffix]

with the padding masked out. transformers derives position ids from the attention mask, so
every real token keeps the position it would have without padding, and greedy outputs match
the plain left-padded batch (tests/backends/test_batching.py checks this on the real model).
"""

from __future__ import annotations

import copy
from typing import Any

MIN_SHARED_PREFIX = 16  # below this, copying the cache costs more than prefilling again


def common_prefix_len(rows: list[list[int]]) -> int:
    """Tokens shared by every row, leaving each row at least one token of its own."""
    limit = min(len(r) for r in rows) - 1
    n = 0
    while n < limit and all(r[n] == rows[0][n] for r in rows):
        n += 1
    return n


def _prefix_cache(model: Any, prefix: list[int], memo: dict[tuple[int, ...], Any]) -> Any:
    import torch
    from transformers import DynamicCache

    key = tuple(prefix)
    if key not in memo:
        cache = DynamicCache(config=model.config)
        with torch.no_grad():  # not inference_mode: its tensors could not be deep-copied
            model(input_ids=torch.tensor([prefix]), cache=cache, use_cache=True)
        memo[key] = cache
    return copy.deepcopy(memo[key])


def generate_rows(
    model: Any,
    rows: list[list[int]],
    pad_id: int,
    eos_id: int | list[int],
    max_new_tokens: int,
    temperature: float = 0.0,
    memo: dict[tuple[int, ...], Any] | None = None,
) -> list[list[int]]:
    """New token ids for each row (up to max_new_tokens, padding after EOS included); `eos_id`
    may list several ids a row stops at."""
    import torch

    memo = {} if memo is None else memo
    shared = common_prefix_len(rows) if len(rows) > 1 else 0
    if shared < MIN_SHARED_PREFIX:
        shared = 0
    width = max(len(r) for r in rows) - shared
    input_ids = torch.full((len(rows), shared + width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(input_ids)
    for i, row in enumerate(rows):
        own = row[shared:]
        input_ids[i, :shared] = torch.tensor(row[:shared], dtype=torch.long)
        input_ids[i, shared + width - len(own) :] = torch.tensor(own, dtype=torch.long)
        mask[i, :shared] = 1
        mask[i, shared + width - len(own) :] = 1
    kwargs: dict[str, Any] = {}
    if shared:
        cache = _prefix_cache(model, rows[0][:shared], memo)
        cache.batch_repeat_interleave(len(rows))
        kwargs["cache"] = cache  # transformers >= 5.24 name; `past_key_values` is deprecated
    sampling = temperature > 0
    with torch.inference_mode():
        out = model.generate(
            input_ids=input_ids,
            attention_mask=mask,
            max_new_tokens=max_new_tokens,
            do_sample=sampling,
            temperature=temperature if sampling else None,
            top_p=None,
            top_k=None,
            pad_token_id=pad_id,
            eos_token_id=eos_id,
            **kwargs,
        )
    return out[:, input_ids.shape[1] :].tolist()
