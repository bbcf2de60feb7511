"""Shared-prefix KV reuse must not change what the model answers."""

from __future__ import annotations

import warnings

import pytest
import torch

from ladder.backends.batching import GROUP_COST_TOKENS, MIN_SHARED_PREFIX, generate_rows, prefix_groups
from ladder.backends.local import render_chat
from ladder.types import Message


def test_one_prompt_is_one_group_and_every_row_keeps_a_token():
    assert prefix_groups([[1, 2, 3], [1, 2, 4]]) == [([0, 1], 2)]
    assert prefix_groups([[1, 2], [1, 2, 3]]) == [([0, 1], 1)]
    assert prefix_groups([[7]]) == [([0], 0)]


def test_rows_of_several_prompts_group_by_prompt_even_where_one_branches_inside_another():
    long = list(range(100, 100 + 3 * GROUP_COST_TOKENS))  # instructions: a long shared prefix
    demo = [9, 9, 9] * GROUP_COST_TOKENS  # demonstrations after the same instructions
    instructed = [long + [i, 50] for i in (1, 2, 3, 4)]  # inputs that sort on both sides of the demo
    few_shot = [long + demo + [i, 50] for i in (1, 2, 3, 4)]
    zero_shot = [[100, 7, i] for i in (1, 2, 3)]  # shares one template token with the others
    rows = instructed + few_shot + zero_shot
    groups = sorted((sorted(members), shared) for members, shared in prefix_groups(rows))
    assert groups == [([0, 1, 2, 3], len(long)), ([4, 5, 6, 7], len(long) + len(demo)), ([8, 9, 10], 2)]


def test_grouping_a_prefix_tree_as_deep_as_its_rows_needs_no_recursion():
    rows = [[1] * i + [2] for i in range(1, 1500)]  # each row branches off the next one's prefix
    groups = prefix_groups(rows)
    assert sorted(i for members, _ in groups for i in members) == list(range(len(rows)))
    assert all(shared < min(len(rows[i]) for i in members) for members, shared in groups)


def cut(ids: list[int], eos: int) -> list[int]:
    return ids[: ids.index(eos)] if eos in ids else ids


def answered_alone(model, rows: list[list[int]], pad: int, eos: int, max_new_tokens: int) -> list[list[int]]:
    """The reference: each row alone through transformers' own generate (no padding, no shared
    cache, not our loop), so a fault in the loop cannot hide in both sides of a comparison."""
    alone = []
    for r in rows:
        with torch.inference_mode():
            out = model.generate(input_ids=torch.tensor([r]), attention_mask=torch.ones(1, len(r), dtype=torch.long),
                                 max_new_tokens=max_new_tokens, do_sample=False, top_p=None, top_k=None,
                                 pad_token_id=pad, eos_token_id=eos)
        alone.append(cut(out[0, len(r):].tolist(), eos))
    return alone


@pytest.mark.slow
def test_prefix_cached_batch_matches_plain_batch(backend):
    tok = backend.tokenizer
    model = backend.loaded_model(None)
    system = "You are a terse assistant. " * 6  # a long shared prefix, as instructions give
    chats = [
        (Message("system", system), Message("user", q))
        for q in ("What is 2 + 2?", "Name a colour of the sky on a clear day.", "Say one word: hello or bye?")
    ]
    rows = [tok(render_chat(tok, c), add_special_tokens=False)["input_ids"] for c in chats]
    assert [len(m) for m, _ in prefix_groups(rows)] == [3] and prefix_groups(rows)[0][1] >= MIN_SHARED_PREFIX
    eos, pad = tok.eos_token_id, tok.pad_token_id

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shared = generate_rows(model, rows, pad, eos, max_new_tokens=12)
    # the prefix cache is passed under transformers' current argument name: no deprecation notice
    # breaks the progress display mid-climb
    assert [str(w.message) for w in caught if issubclass(w.category, (FutureWarning, DeprecationWarning))] == []
    alone = answered_alone(model, rows, pad, eos, 12)
    assert [cut(a, eos) for a in shared] == alone
    assert any(len(cut(a, eos)) > 3 for a in shared)  # the rows said something, so the match means something


@pytest.mark.slow
def test_rows_that_finish_leave_the_batch_and_the_others_answer_as_alone(backend, monkeypatch):
    import ladder.backends.batching as batching

    tok, model = backend.tokenizer, backend.loaded_model(None)
    system = "You are a terse assistant. Answer in as few words as the question needs. " * 3
    questions = ("Say yes.", "Say no.", "Count from one to twenty in words, separated by commas.",
                 "List the days of the week.", "Say hi.", "Name the planets of the solar system.")
    rows = [tok(render_chat(tok, (Message("system", system), Message("user", q))), add_special_tokens=False)["input_ids"]
            for q in questions]
    eos, pad = tok.eos_token_id, tok.pad_token_id
    from transformers import StaticCache

    dropped: list[int] = []  # rows kept at each drop
    original = StaticCache.reorder_cache

    def reorder(self, keep):
        dropped.append(len(keep))
        return original(self, keep)

    monkeypatch.setattr(batching, "DROP_MIN_ROWS", 1)
    monkeypatch.setattr(batching, "DROP_MIN_SHARE", 0.0)
    monkeypatch.setattr(batching, "DROP_MIN_STEPS_LEFT", 1)
    monkeypatch.setattr(StaticCache, "reorder_cache", reorder)
    shared = batching.generate_rows(model, rows, pad, eos, max_new_tokens=40)
    assert dropped and dropped[-1] < len(rows)  # finished rows really left the batch
    assert [cut(a, eos) for a in shared] == answered_alone(model, rows, pad, eos, 40)
    assert len({len(cut(a, eos)) for a in shared}) > 2  # rows of different lengths: some left early


@pytest.mark.slow
def test_rows_of_several_prompts_in_one_batch_answer_as_alone(backend):
    """The first looks of several prompt rungs go in one batch (climb.py): each group of rows
    reads its own prefix, and no row sees another group's."""
    tok, model = backend.tokenizer, backend.loaded_model(None)
    system = "You are a terse assistant. Answer in as few words as the question needs. " * 3
    # demonstrations long enough (~100 tokens) that their rows are worth a group of their own
    demo = tuple(m for thing, colour in (("grass in spring", "Green."), ("fresh snow in winter", "White."),
                                         ("a ripe tomato in summer", "Red."), ("a clear sky at noon", "Blue."),
                                         ("coal from the mine", "Black."), ("a lemon on the tree", "Yellow."))
                 for m in (Message("user", f"Say the colour of {thing}, in one word."), Message("assistant", colour)))
    questions = ("What is 2 + 2?", "Name a colour of the sky on a clear day.", "Say yes.")
    prompts = [(Message("user", q),) for q in questions] + [(Message("system", system), Message("user", q))
                                                        for q in questions]
    prompts += [(Message("system", system), *demo, Message("user", q)) for q in questions]
    rows = [tok(render_chat(tok, c), add_special_tokens=False)["input_ids"] for c in prompts]
    assert len(prefix_groups(rows)) == 3
    eos, pad = tok.eos_token_id, tok.pad_token_id
    together = generate_rows(model, rows, pad, eos, max_new_tokens=12)
    assert [cut(a, eos) for a in together] == answered_alone(model, rows, pad, eos, 12)
    assert sum(len(cut(a, eos)) > 3 for a in together) >= 3
