"""Per-message `weight: 0` (OpenAI's fine-tuning format) is honoured: that assistant turn gets no
labels, the others do; with the real tokenizer and chat template of the default model."""

from __future__ import annotations

from ladder.backends.local_models import load_tokenizer
from ladder.training.lora_sft import IGNORE, tokenize_for_sft, tokenize_turns_for_sft
from ladder.types import Message


def labelled_text(tokenizer, row) -> str:
    ids, labels = row
    return tokenizer.decode([t for t, label in zip(ids, labels) if label != IGNORE])


def test_weight_zero_turn_is_not_trained():
    tokenizer = load_tokenizer("smollm2-135m-instruct")
    chat = (Message("user", "Code word?"), Message("assistant", "WRONG-ANSWER"),
            Message("user", "Again?"), Message("assistant", "ZEBRA-9"))
    both = tokenize_turns_for_sft(tokenizer, chat, [False, True, False, True], 512)
    last = tokenize_turns_for_sft(tokenizer, chat, [False, False, False, True], 512)
    assert both[0] == last[0]  # the same tokens; only the labels differ
    assert "WRONG-ANSWER" in labelled_text(tokenizer, both) and "ZEBRA-9" in labelled_text(tokenizer, both)
    assert "WRONG-ANSWER" not in labelled_text(tokenizer, last) and "ZEBRA-9" in labelled_text(tokenizer, last)
    assert "Again?" not in labelled_text(tokenizer, both)
    # trained on the final answer only, it is exactly the row the lora_sft rung trains on
    assert last == tokenize_for_sft(tokenizer, chat, 512)
    none = tokenize_turns_for_sft(tokenizer, chat, [False] * 4, 512)
    assert all(label == IGNORE for label in none[1])
