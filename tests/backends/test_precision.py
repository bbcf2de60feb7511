"""The bfloat16 check generates real answers both ways and applies the auto rule to them: the
Wilson lower bound of the match rate, over enough prompts for the bound to mean something."""

from __future__ import annotations

import pytest

from ladder.backends.precision import (MATCH_LOWER_BOUND, SAMPLE_SIZE, auto_uses_bfloat16, choose_dtype,
                                      greedy_match_rate, match_lower_bound)
from ladder.hardware import bf16_pays
from ladder.types import GenerationParams, Message

SAMPLE = [(Message("user", f"Name a colour that starts with the letter {c}."),) for c in "BGRY"]
PARAMS = GenerationParams(max_new_tokens=12)


def test_eight_of_eight_is_not_enough_for_auto():
    # the old rule took 8 of 8 identical answers; their 95% lower bound is below 70%
    assert match_lower_bound(8, 8) < 0.7 and not auto_uses_bfloat16(8, 8)
    assert not auto_uses_bfloat16(0, 0)


def test_sample_size_is_the_smallest_a_perfect_sample_can_pass_with():
    assert auto_uses_bfloat16(SAMPLE_SIZE, SAMPLE_SIZE)
    assert not auto_uses_bfloat16(SAMPLE_SIZE - 1, SAMPLE_SIZE - 1)
    assert not auto_uses_bfloat16(SAMPLE_SIZE - 1, SAMPLE_SIZE)  # one mismatch in the minimum sample fails
    assert match_lower_bound(SAMPLE_SIZE, SAMPLE_SIZE) >= MATCH_LOWER_BOUND > match_lower_bound(SAMPLE_SIZE - 1, SAMPLE_SIZE - 1)
    # a larger sample tolerates a few mismatches
    assert auto_uses_bfloat16(97, 100) and not auto_uses_bfloat16(90, 100)


@pytest.mark.slow
def test_float32_needs_no_measurement():
    choice = choose_dtype("smollm2-135m-instruct", "float32", SAMPLE, PARAMS)
    assert (choice.dtype, choice.match_rate, choice.sample) == ("float32", None, 0)


@pytest.mark.slow
def test_float32_matches_itself_exactly():
    from ladder.backends.local import LocalBackend

    a, b = LocalBackend(batch_size=4), LocalBackend(batch_size=2)
    assert greedy_match_rate(a, b, SAMPLE, PARAMS) == 1.0


@pytest.mark.slow
def test_auto_uses_bfloat16_only_when_the_sample_matches():
    choice = choose_dtype("smollm2-135m-instruct", "auto", SAMPLE, PARAMS, batch_size=4)
    if not bf16_pays():
        assert choice.dtype == "float32" and choice.match_rate is None and choice.match_lower_bound is None
        return
    assert choice.sample == len(SAMPLE) and 0.0 <= choice.match_rate <= 1.0
    matched = round(choice.match_rate * len(SAMPLE))
    assert choice.match_lower_bound == match_lower_bound(matched, len(SAMPLE))
    assert f"95% lower bound of the match rate {choice.match_lower_bound:.1%}" in choice.reason
    # 4 prompts can never show a rate high enough: auto stays in float32 and says why
    assert choice.dtype == "float32" and f"{SAMPLE_SIZE} can" in choice.reason
    assert choice.backend._models  # the measured backend is returned warm, not loaded again
    # asking for bfloat16 explicitly keeps it, and still reports the measured rate
    forced = choose_dtype("smollm2-135m-instruct", "bfloat16", SAMPLE, PARAMS, batch_size=4)
    assert forced.dtype == "bfloat16" and forced.match_rate == choice.match_rate


@pytest.mark.slow
def test_a_bfloat16_task_reports_the_match_rate_before_climbing(tiny_task):
    from ladder.asking import model_backend
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
