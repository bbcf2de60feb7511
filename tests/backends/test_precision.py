"""The bfloat16 check generates real answers both ways and applies the auto rule to them."""

from __future__ import annotations

import pytest

from ladder.backends.precision import MATCH_REQUIRED, choose_dtype, greedy_match_rate
from ladder.hardware import cpu_has_fast_bf16
from ladder.types import GenerationParams, Message

pytestmark = pytest.mark.slow

SAMPLE = [(Message("user", f"Name a colour that starts with the letter {c}."),) for c in "BGRY"]
PARAMS = GenerationParams(max_new_tokens=12)


def test_float32_needs_no_measurement():
    choice = choose_dtype("smollm2-135m-instruct", "float32", SAMPLE, PARAMS)
    assert (choice.dtype, choice.match_rate, choice.sample) == ("float32", None, 0)


def test_float32_matches_itself_exactly():
    from ladder.backends.local import LocalBackend

    a, b = LocalBackend(batch_size=4), LocalBackend(batch_size=2)
    assert greedy_match_rate(a, b, SAMPLE, PARAMS) == 1.0


def test_auto_uses_bfloat16_only_when_the_sample_matches():
    choice = choose_dtype("smollm2-135m-instruct", "auto", SAMPLE, PARAMS, batch_size=4)
    if not cpu_has_fast_bf16():
        assert choice.dtype == "float32" and choice.match_rate is None
        return
    assert choice.sample == len(SAMPLE) and 0.0 <= choice.match_rate <= 1.0
    assert choice.dtype == ("bfloat16" if choice.match_rate >= MATCH_REQUIRED else "float32")
    assert choice.backend._models  # the measured backend is returned warm, not loaded again
    # asking for bfloat16 explicitly keeps it, and still reports the measured rate
    forced = choose_dtype("smollm2-135m-instruct", "bfloat16", SAMPLE, PARAMS, batch_size=4)
    assert forced.dtype == "bfloat16" and forced.match_rate == choice.match_rate


def test_a_bfloat16_task_reports_the_match_rate_before_climbing(tiny_task):
    from ladder.climb import model_backend
    from ladder.task import load_task

    text = tiny_task.read_text()
    tiny_task.write_text(text.replace("name: smollm2-135m-instruct", "name: smollm2-135m-instruct\n  dtype: bfloat16", 1))
    task = load_task(tiny_task)
    assert task.spec.model.dtype == "bfloat16"
    said: list[str] = []
    backend = model_backend(task, on_status=said.append)
    assert backend.dtype == "bfloat16"
    assert len(said) == 1 and said[0].startswith("precision: bfloat16 answers ")
    assert f"of {len(task.eval)} sample prompts exactly as float32 does; running in bfloat16" in said[0]


def test_without_a_sample_auto_runs_in_float32_and_bfloat16_unmeasured():
    from ladder.backends import backend_for
    from ladder.task.spec import ModelSpec

    said: list[str] = []
    auto = backend_for(ModelSpec(dtype="auto"), on_status=said.append)
    forced = backend_for(ModelSpec(dtype="bfloat16"), on_status=said.append)
    assert (auto.dtype, forced.dtype) == ("float32", "bfloat16")
    assert not auto._models and not forced._models  # nothing was generated, so nothing was loaded
    assert said[1] == "precision: running in bfloat16 (bfloat16 requested; no sample prompts to measure it on)"
