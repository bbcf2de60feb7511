"""Batched generation for a transformers causal LM: which rows go together (`plan_batches`), and
one greedy (or sampled) loop over a static KV cache that reuses the KV cache of a shared prompt
prefix (`generate_rows`).

The rows of one rung's batch usually share a long prefix (system prompt, instructions,
few-shot demonstrations). That prefix is prefilled once at batch size 1, memoised, and its KV
copied into every row's slots; each row then prefills only its own suffix. Rows are laid out as

    [shared prefix][left padding][row's own suffix][generated tokens]

with the padding masked out and every real token given the position it would have without
padding, so greedy outputs match each row generated alone (tests/backends/test_batching.py
checks this on the real model).

Attention in this loop reads the shared prefix once per batch rather than once per row
(prefix_attention.py): 50 instructed balance-shift prompts went from 21.4-22.5 s to 16.9-18.4 s,
outputs identical on the zero-shot, instructed and few-shot prompts (AMD EPYC, AVX2, 2 cores).

Rows that have finished leave the batch once enough of them have (`_worth_dropping`): each layer's
cache keeps only the rows still answering. Measured in turn against the loop without it (whole
processes, 50 prompts, a noisy machine): 0.886x the wall time on the instructed prompts
(0.85-1.06 over 3 pairs), 0.978x on the zero-shot ones (0.77-1.02 over 4 pairs); outputs
identical on the zero-shot, instructed and few-shot prompts.

Why a loop of our own rather than `model.generate`: generate's default cache grows by
concatenation, copying every row's whole cache (prefix included) at every step of every layer,
and wraps each step in generic processing. Preallocating the cache (transformers' StaticCache,
written in place) and calling the model directly answered the 50 balance-shift instructed prompts
in one batch in 42.7 s against generate's 48.3 s here, with identical outputs
(AMD EPYC, AVX2, 2 cores; bench/generate.py has the figures per CPU in BENCHMARKS.md).
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, Sequence

from ladder.backends.prefix_attention import shared_prefix_attending

MIN_SHARED_PREFIX = 16  # below this, copying the cache costs more than prefilling again

# finished rows leave the batch once they are this many and this share of it, with this many
# steps still to go (generate_rows, _worth_dropping)
DROP_MIN_ROWS = 4
DROP_MIN_SHARE = 0.25
DROP_MIN_STEPS_LEFT = 8

AUTO_BATCH_TOKENS = 32768  # auto batches: rows x (longest prompt + new tokens) stays under this
AUTO_MAX_ROWS = 64


def plan_batches(lengths: Sequence[int], max_new_tokens: int, batch_size: int | None) -> list[list[int]]:
    """Row indices of each batch, shortest rows first (little padding inside a batch).

    A fixed `batch_size` cuts the sorted rows into equal slices. None (auto) takes as few batches
    as fit: each holds at most AUTO_MAX_ROWS rows and rows x (its longest prompt +
    max_new_tokens) stays within AUTO_BATCH_TOKENS, which bounds the KV cache (~46 KB per token
    for the default model, so ~1.5 GB). Rows are then spread evenly over that many batches where
    the even split still fits: a CPU matmul over 11 rows ran at 42 GFLOP/s against 72 for 39 and
    92 for 50 rows (576 x 1536 weights, AMD EPYC AVX2, 2 cores), so 50 rows in batches of 39 and
    11 waste the small one, and one batch of 50 answered the balance-shift instructed prompts
    about 1.2x faster than the 39 + 11 that the former 16,384-token budget made."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    if batch_size is not None:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]

    def fits(rows: list[int]) -> bool:  # rows ascending, so the last is the longest
        return len(rows) <= AUTO_MAX_ROWS and len(rows) * (lengths[rows[-1]] + max_new_tokens) <= AUTO_BATCH_TOKENS

    greedy: list[list[int]] = []
    for i in order:
        if greedy and fits(greedy[-1] + [i]):
            greedy[-1].append(i)
        else:
            greedy.append([i])
    k = len(greedy)
    even = [order[len(order) * j // k : len(order) * (j + 1) // k] for j in range(k)]
    return even if all(len(b) == 1 or fits(b) for b in even) else greedy



def common_prefix_len(rows: list[list[int]]) -> int:
    """Tokens shared by every row, leaving each row at least one token of its own."""
    limit = min(len(r) for r in rows) - 1
    n = 0
    while n < limit and all(r[n] == rows[0][n] for r in rows):
        n += 1
    return n


def _prefix_cache(model: Any, prefix: list[int], memo: dict[tuple[int, ...], Any]) -> Any:
    """The prefix's KV cache at batch size 1, computed once per prefix; callers only read it."""
    import torch
    from transformers import DynamicCache

    key = tuple(prefix)
    if key not in memo:
        cache = DynamicCache(config=model.config)
        with torch.inference_mode():
            model(input_ids=torch.tensor([prefix]), cache=cache, use_cache=True)
        memo[key] = cache
    return memo[key]


def _static_cache(model: Any, rows: int, length: int, prefix: Any | None, shared: int) -> Any:
    """A StaticCache of `rows` x `length` slots, its first `shared` slots holding `prefix`'s KV."""
    from transformers import StaticCache

    cache = StaticCache(config=model.config, max_cache_len=length)
    if prefix is not None:
        for layer, source in zip(cache.layers, prefix.layers):
            keys = source.keys.expand(rows, -1, -1, -1)
            values = source.values.expand(rows, -1, -1, -1)
            layer.lazy_initialization(keys, values)
            layer.keys[:, :, :shared] = keys
            layer.values[:, :, :shared] = values
            layer.cumulative_length.fill_(shared)
    return cache


def _worth_dropping(finished: int, rows: int, steps_left: int) -> bool:
    """Whether to drop the finished rows from the batch now. Dropping copies every layer's cache
    of the rows kept (about 0.2 s for 40 instructed rows), and a step over fewer rows costs less
    only where a good share of them are gone; with few steps left the copy cannot pay."""
    return finished >= max(DROP_MIN_ROWS, DROP_MIN_SHARE * rows) and steps_left >= DROP_MIN_STEPS_LEFT


def _next_tokens(logits: Any, temperature: float) -> Any:
    import torch

    if temperature > 0:
        return torch.multinomial(torch.softmax(logits.float() / temperature, dim=-1), 1)[:, 0]
    return logits.argmax(-1)


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
    may list several ids a row stops at. Greedy at temperature 0, else sampled from the softmax
    at that temperature (torch's global generator, as transformers' generate)."""
    import torch

    memo = {} if memo is None else memo
    stops = torch.tensor([eos_id] if isinstance(eos_id, int) else list(eos_id))
    shared = common_prefix_len(rows) if len(rows) > 1 else 0
    if shared < MIN_SHARED_PREFIX:
        shared = 0
    batch = len(rows)
    width = max(len(r) for r in rows) - shared
    prompt_len = shared + width
    input_ids = torch.full((batch, width), pad_id, dtype=torch.long)  # each row's own tokens
    mask = torch.zeros((batch, prompt_len + max_new_tokens), dtype=torch.long)  # grows as tokens come
    mask[:, :shared] = 1
    for i, row in enumerate(rows):
        own = row[shared:]
        input_ids[i, width - len(own):] = torch.tensor(own, dtype=torch.long)
        mask[i, prompt_len - len(own):prompt_len] = 1
    # a real token's position counts the real tokens before it, padding skipped
    positions = (mask[:, :prompt_len].cumsum(-1) - 1).clamp(min=0)
    prefix = _prefix_cache(model, rows[0][:shared], memo) if shared else None
    cache = _static_cache(model, batch, prompt_len + max_new_tokens, prefix, shared)
    done = torch.zeros(batch, dtype=torch.bool)

    def own_slots(end: int, queries: int) -> dict[str, Any]:
        """With a shared prefix, the attention reads it once (prefix_attention.py) and masks each
        row's own slots itself: real tokens only, none after the query (sdpa reads the mask argument)."""
        if not shared:
            return {}
        real = mask[:, shared:end].bool()[:, None, :]
        causal = torch.ones(queries, end - shared, dtype=torch.bool).tril(end - shared - queries)
        return {"shared_prefix": shared, "kv_end": end, "own_mask": real & causal}

    with torch.inference_mode(), shared_prefix_attending(model) if shared else nullcontext():
        logits = model(input_ids=input_ids, attention_mask=mask[:, :prompt_len],
                       position_ids=positions[:, shared:], cache=cache, use_cache=True,
                       logits_to_keep=1, **own_slots(prompt_len, width)).logits[:, -1]
        position = positions[:, -1]
        out = torch.full((batch, max_new_tokens), pad_id, dtype=torch.long)
        alive = torch.arange(batch)  # the rows still in the batch, as indices of `rows`
        steps = 0
        for step in range(max_new_tokens):
            token = torch.where(done, torch.full_like(alive, pad_id), _next_tokens(logits, temperature))
            out[alive, step] = token
            steps = step + 1
            done |= torch.isin(token, stops)
            if bool(done.all()) or step == max_new_tokens - 1:
                break
            if _worth_dropping(int(done.sum()), len(alive), max_new_tokens - step - 1):
                keep = (~done).nonzero()[:, 0]
                cache.reorder_cache(keep)  # every layer's keys and values, kept rows only
                alive, mask, position, token, done = alive[keep], mask[keep], position[keep], token[keep], done[keep]
            end = prompt_len + step + 1
            mask[:, end - 1] = 1
            position = position + 1
            logits = model(input_ids=token[:, None], attention_mask=mask[:, :end], position_ids=position[:, None],
                           cache=cache, use_cache=True, **own_slots(end, 1)).logits[:, -1]
    return out[:, :steps].tolist()
