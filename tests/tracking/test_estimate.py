"""The fine-tune cost estimate the climb's early stop compares against the rung that met the target."""

import json
from pathlib import Path

import pytest

from ladder.task.spec import PriceSpec
from ladder.tracking.estimate import (DEFAULT_TRAIN_TOKENS_PER_S, CostEstimate, estimate_finetune,
                                      measured_train_throughput)


def test_build_is_tokens_times_epochs_over_throughput_priced_per_hour_and_serving_at_finetuned_prices():
    prices = PriceSpec(input_per_1k=0.1, output_per_1k=0.2, train_per_hour=2.0,
                       finetuned_input_per_1k=0.5, finetuned_output_per_1k=2.0)
    e = estimate_finetune(train_tokens=3600, epochs=2, tokens_per_s=2.0, prompt_tokens=100, completion_tokens=10,
                          prices=prices, volume=1000)
    assert e.train_seconds == pytest.approx(3600.0)  # 7200 tokens at 2 tokens/s
    assert e.build_money == pytest.approx(2.0)  # one hour at 2.0 per hour
    assert e.per_request == pytest.approx(100 / 1000 * 0.5 + 10 / 1000 * 2.0)  # fine-tuned prices, not base
    assert e.cost_at_volume == pytest.approx(2.0 + 1000 * 0.07)
    assert e.throughput_measured


def test_serving_falls_back_to_base_prices_and_throughput_to_the_documented_default():
    prices = PriceSpec(input_per_1k=0.1, output_per_1k=0.2, train_per_hour=3.0)
    e = estimate_finetune(train_tokens=500, epochs=3, tokens_per_s=None, prompt_tokens=40, completion_tokens=20,
                          prices=prices, volume=0)
    assert e.tokens_per_s == DEFAULT_TRAIN_TOKENS_PER_S and not e.throughput_measured
    assert e.build_money == pytest.approx(1500 / DEFAULT_TRAIN_TOKENS_PER_S / 3600 * 3.0)
    assert e.per_request == pytest.approx(40 / 1000 * 0.1 + 20 / 1000 * 0.2)
    assert e.cost_at_volume == e.build_money  # nothing served at volume 0


def test_cost_at_volume_is_build_plus_volume_requests():
    assert CostEstimate(build_money=1.5, per_request=0.25, volume=8).cost_at_volume == pytest.approx(3.5)


def test_bad_inputs_are_refused():
    prices = PriceSpec()
    with pytest.raises(ValueError):
        estimate_finetune(10, 0, 1.0, 1, 1, prices, 1)
    with pytest.raises(ValueError):
        estimate_finetune(10, 1, 0.0, 1, 1, prices, 1)


def _adapter(folder: Path, tokens: int, seconds: float, weights: bool = True) -> None:
    folder.mkdir(parents=True)
    (folder / "training.json").write_text(json.dumps(
        {"seconds": seconds, "train_tokens": tokens, "steps": 1, "losses": [1.0], "tokens_per_s": tokens / seconds}))
    if weights:
        (folder / "adapter_model.safetensors").write_bytes(b"")


def test_measured_throughput_is_the_fastest_finished_adapters(tmp_path: Path):
    adapters = tmp_path / "adapters"
    assert measured_train_throughput(adapters) is None  # no folder yet
    _adapter(adapters / "lora_sft-a", tokens=600, seconds=2.0)  # 300 tokens/s
    _adapter(adapters / "dpo-b", tokens=200, seconds=2.0)  # 100 tokens/s
    _adapter(adapters / "lora_sft-c", tokens=9000, seconds=1.0, weights=False)  # interrupted save: not finished
    assert measured_train_throughput(adapters) == pytest.approx(300.0)
