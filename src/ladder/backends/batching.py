"""Batched generation for a transformers causal LM: which rows go together (`plan_batches`), and
one greedy (or sampled) loop over a static KV cache that reuses the KV cache of shared prompt
prefixes (`generate_rows`).

The rows of one rung's batch usually share a long prefix (system prompt, instructions,
few-shot demonstrations), and a batch may hold the rows of several rungs (prefix_groups). Each
group's prefix is prefilled once at batch size 1, memoised, and kept outside the batch's cache,
in a bank the attention reads it from (prefix_attention.py); each row prefills only its own
suffix. A row's cache slots hold

    [left padding][row's own suffix][generated tokens]

with the padding masked out and every real token given the position it would have without
padding, after its prefix, so greedy outputs match each row generated alone
(tests/backends/test_batching.py checks this on the real model, one prompt and several).

The first looks of three prompt rungs (zero-shot, instructed, few-shot; 20 balance-shift rows
each) took 12.7-13.8 s as one batch of 60 against 20.6-21.0 s as three batches of 20, outputs
identical (Intel Xeon with AMX, 2 cores, fp32; bench/first_looks.py).

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

# below this, a prefix is not worth its own attention (an estimate, kept from when the prefix was
# copied into every row: not measured again)
MIN_SHARED_PREFIX = 16
# what one more group of rows costs, in prompt tokens prefilled: an estimate, not a measurement
# (its prefix's products at each layer of each step, 4 small kernels x 30 layers x 64 steps at
# ~10 us, against ~1.3 ms a prefilled token). prefix_groups splits a batch only where a group saves
# more than this. The choice is not sensitive to it: three balance-shift prompt rungs' 60 rows
# fall into the same three groups for any value from 0 to 4,000
GROUP_COST_TOKENS = 64

# finished rows leave the batch once they are this many and this share of it, with this many
# steps still to go (generate_rows, _worth_dropping)
DROP_MIN_ROWS = 4
DROP_MIN_SHARE = 0.25
DROP_MIN_STEPS_LEFT = 8

AUTO_BATCH_TOKENS = 32768  # auto batches: rows x (longest prompt + new tokens) stays under this
AUTO_MAX_ROWS = 64


def plan_batches(lengths: Sequence[int], max_new_tokens: int, batch_size: int | None) -> list[list[int]]:
    """Row indices of each batch, shortest rows first (little padding inside a batch). `lengths`
    are the tokens each row holds in its own cache slots: its prompt past the prefix it shares
    with other rows (prefix_groups), which is held once for the batch.

    A fixed `batch_size` cuts the sorted rows into equal slices. None (auto) takes as few batches
    as fit: each holds at most AUTO_MAX_ROWS rows and rows x (its longest own prompt +
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



def prefix_groups(rows: Sequence[Sequence[int]]) -> list[tuple[list[int], int]]:
    """The rows split into groups that each share a prompt prefix: (row indices, prefix length).

    A batch may hold the rows of several prompts (the first looks of several prompt rungs,
    climb.py): rows of one rung share its instructions and demonstrations, rows of different
    rungs little more than the chat template's first tokens. The rows are ordered as a walk of
    their prefix tree that visits larger branches first (`_prefix_order`: the rows continuing one
    long prefix stay side by side even where another prompt's rows branch off inside it), then cut
    into runs of at most AUTO_MAX_ROWS that minimise the tokens prefilled (each group's prefix once,
    every row's own tokens) plus GROUP_COST_TOKENS a group, by dynamic programming over the cut
    points. Every row keeps at least one token of its own."""
    order = _prefix_order(rows)
    n = len(order)
    adjacent = [_common_len(rows[order[k]], rows[order[k + 1]]) for k in range(n - 1)]
    # best[end]: (tokens prefilled, start, prefix) of the cheapest cut of order[:end], whose last
    # group is order[start:end] sharing `prefix` tokens
    best: list[tuple[int, int, int]] = [(0, 0, 0)]
    for end in range(1, n + 1):
        total, prefix, choice = 0, 0, None
        for start in range(end - 1, max(-1, end - 1 - AUTO_MAX_ROWS), -1):
            length = len(rows[order[start]])
            total += length
            prefix = length - 1 if start == end - 1 else min(prefix, adjacent[start], length - 1)
            cost = best[start][0] + total - (end - start - 1) * prefix + GROUP_COST_TOKENS
            if choice is None or cost < choice[0]:
                choice = (cost, start, prefix)
        best.append(choice)  # type: ignore[arg-type]
    groups: list[tuple[list[int], int]] = []
    end = n
    while end > 0:
        _, start, prefix = best[end]
        groups.append((order[start:end], prefix))
        end = start
    return groups[::-1]


def _prefix_order(rows: Sequence[Sequence[int]]) -> list[int]:
    """Row indices as a walk of the rows' prefix tree: at each branching, past the tokens its rows
    all share, the branches holding more rows first (an explicit stack: a tree as deep as the
    rows are many must not hit Python's recursion limit)."""
    order: list[int] = []
    stack: list[tuple[list[int], int]] = [(list(range(len(rows))), 0)]
    while stack:
        members, depth = stack.pop()
        if len(members) == 1:
            order += members
            continue
        shared = min(len(rows[i]) for i in members)
        first = rows[members[0]]
        while depth < shared and all(rows[i][depth] == first[depth] for i in members):
            depth += 1
        branches: dict[int, list[int]] = {}
        for i in members:
            branches.setdefault(rows[i][depth] if depth < len(rows[i]) else -1, []).append(i)
        if len(branches) == 1:  # every row ends here: identical prompts
            order += members
            continue
        ordered = sorted(branches.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        stack += [(branch, depth + 1) for _, branch in reversed(ordered)]  # popped largest first
    return order


def _common_len(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
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


def _prefix_banks(model: Any, prefixes: list[list[int]], memo: dict[tuple[int, ...], Any]) -> list[tuple[Any, Any]]:
    """Each layer's (keys, values) of the groups' prefixes one after another ([KV heads, slots,
    head dim]): what prefix_attention reads a group's slice of."""
    import torch

    caches = [_prefix_cache(model, p, memo) for p in prefixes if p]
    banks = []
    for layers in zip(*(c.layers for c in caches)):
        if len(layers) == 1:
            banks.append((layers[0].keys[0], layers[0].values[0]))
        else:
            banks.append((torch.cat([x.keys[0] for x in layers], 1), torch.cat([x.values[0] for x in layers], 1)))
    return banks


def _worth_dropping(finished: int, rows: int, steps_left: int) -> bool:
    """Whether to drop the finished rows from the batch now. Dropping copies every layer's cache
    of the rows kept (about 0.2 s for 40 instructed rows), and a step over fewer rows costs less
    only where a good share of them are gone; with few steps left the copy cannot pay."""
    return finished >= max(DROP_MIN_ROWS, DROP_MIN_SHARE * rows) and steps_left >= DROP_MIN_STEPS_LEFT


def _next_tokens(logits: Any, temperature: float) -> Any:
    import torch

    if temperature > 0:
        return torch.multinomial(torch.softmax(logits.float() / temperature, dim=-1), 1)[:, 0]
    # max's indices are argmax's (the first of tied maxima), at 0.6 ms against argmax's 1.6 for 50
    # rows of the default model's 49,152 logits (Xeon, 2 cores, BENCHMARKS.md 2026-12-03)
    return logits.max(-1).indices


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
    from transformers import StaticCache

    memo = {} if memo is None else memo
    stops = torch.tensor([eos_id] if isinstance(eos_id, int) else list(eos_id))
    groups = prefix_groups(rows)
    if len(rows) == 1 or (len(groups) == 1 and groups[0][1] < MIN_SHARED_PREFIX):
        groups = [(list(range(len(rows))), 0)]  # no prefix worth its own attention: sdpa over whole rows
    order = [i for members, _ in groups for i in members]  # rows of a group side by side
    shared = torch.tensor([p for members, p in groups for _ in members])  # each row's prefix length
    group_of = torch.tensor([g for g, (members, _) in enumerate(groups) for _ in members])
    prefixes = [rows[members[0]][:p] for members, p in groups]
    slices = [0]
    for p in prefixes:
        slices.append(slices[-1] + len(p))
    banks = _prefix_banks(model, prefixes, memo) if slices[-1] else None
    batch = len(rows)
    width = max(len(rows[i]) - int(p) for i, p in zip(order, shared))
    input_ids = torch.full((batch, width), pad_id, dtype=torch.long)  # each row's own tokens
    mask = torch.zeros((batch, width + max_new_tokens), dtype=torch.long)  # own slots; grows as tokens come
    for k, (i, p) in enumerate(zip(order, shared.tolist())):
        own = rows[i][p:]
        input_ids[k, width - len(own):] = torch.tensor(own, dtype=torch.long)
        mask[k, width - len(own):width] = 1
    # a real token's position counts the real tokens before it, its prefix's included, padding skipped
    positions = shared[:, None] + (mask[:, :width].cumsum(-1) - 1).clamp(min=0)
    cache = StaticCache(config=model.config, max_cache_len=width + max_new_tokens)
    done = torch.zeros(batch, dtype=torch.bool)

    def attending(end: int, queries: int, group_of: Any) -> dict[str, Any]:
        """With prefixes, the attention reads each group's once from the banks (prefix_attention.py)
        and masks each row's own slots itself: real tokens only, none after the query."""
        if banks is None:
            return {}
        real = mask[:, :end].bool()[:, None, :]
        causal = torch.ones(queries, end, dtype=torch.bool).tril(end - queries)
        counts = torch.bincount(group_of, minlength=len(groups)).tolist()
        bounds, start = [], 0
        for g, count in enumerate(counts):
            if count:
                bounds.append((start, start + count, slices[g], slices[g + 1]))
            start += count
        return {"prefix_banks": banks, "prefix_groups": bounds, "kv_end": end, "own_mask": real & causal}

    with torch.inference_mode(), shared_prefix_attending(model) if banks is not None else nullcontext():
        logits = model(input_ids=input_ids, attention_mask=mask[:, :width], position_ids=positions,
                       cache=cache, use_cache=True, logits_to_keep=1,
                       **attending(width, width, group_of)).logits[:, -1]
        position = positions[:, -1]
        out = torch.full((batch, max_new_tokens), pad_id, dtype=torch.long)
        alive = torch.arange(batch)  # the rows still in the batch, as indices of `order`
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
                alive, mask, position, token, done, group_of = (
                    alive[keep], mask[keep], position[keep], token[keep], done[keep], group_of[keep])
            end = width + step + 1
            mask[:, end - 1] = 1
            position = position + 1
            logits = model(input_ids=token[:, None], attention_mask=mask[:, :end], position_ids=position[:, None],
                           cache=cache, use_cache=True, **attending(end, 1, group_of)).logits[:, -1]
    answers = out[:, :steps].tolist()
    by_row: list[list[int]] = [[]] * batch
    for k, i in enumerate(order):
        by_row[i] = answers[k]
    return by_row
