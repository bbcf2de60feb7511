"""bench/generate.py's FLOP count per step and its memory roofline: the figures that say how far
the eval loop is from what this machine allows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module():
    sys.path.insert(0, str(ROOT / "bench"))  # generate.py imports climb.py beside it
    try:
        spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return module


def test_steps_cover_every_row_still_answering_and_sum_to_the_useful_flops() -> None:
    bench = _module()
    prompts = [[1, 2, 3, 4], [1, 2, 5]]  # two shared tokens
    steps = bench.flops_by_step(prompts, [3, 1])  # the second row's only token came from the prefill
    assert len(steps) == 3  # the prefill, then two decode steps of the first row
    assert steps[1] < steps[2]  # one row each; the later one attends over one more token
    assert sum(steps) == bench.useful_flops(prompts, [3, 1])
    both = bench.flops_by_step(prompts, [3, 2])
    assert both[0] == steps[0] and both[2] == steps[2] and both[1] > steps[1]  # step 1 gains the second row


def test_roofline_is_the_peak_where_compute_binds_and_the_bandwidth_where_memory_does() -> None:
    bench = _module()
    assert bench.roofline_mfu([4e9, 4e9], peak=1e9, bandwidth=1e9, nbytes=10**9) == 1.0  # 4 s of FLOPs > 1 s read
    # one step needs 1 s of FLOPs but 2 s to read its weights: half the peak at best
    assert bench.roofline_mfu([1e9], peak=1e9, bandwidth=1e9, nbytes=2 * 10**9) == pytest.approx(0.5)
    assert bench.weight_bytes() == pytest.approx(538e6, rel=0.01)  # SmolLM2-135M's fp32 weights, head tied
