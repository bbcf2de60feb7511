import pytest

from ladder.task.spec import PriceSpec
from ladder.tracking.costs import (break_even_requests, cost_per_1k_requests, request_cost, rung_request_cost,
                                  serving_prices, training_cost)


def test_break_even_published_worked_example():
    # 0.492075 yen to train, 190 input tokens saved per request at 0.0000045 yen per token -> 575.5
    prices = PriceSpec(currency="JPY", input_per_1k=0.0045, output_per_1k=0.018)
    prompt_rung = rung_request_cost(190 + 40, 12, prices, finetuned=False)
    finetune = rung_request_cost(40, 12, prices, finetuned=True)
    assert break_even_requests(0.0, prompt_rung, 0.492075, finetune) == pytest.approx(575.5, abs=0.05)


def test_break_even_prices_output_tokens_too():
    # same prompt, but the fine-tune answers in 20 output tokens instead of 120: only output saves
    prices = PriceSpec(input_per_1k=0.5, output_per_1k=1.5)
    a, b = rung_request_cost(100, 120, prices, False), rung_request_cost(100, 20, prices, True)
    assert break_even_requests(0.0, a, 3.0, b) == pytest.approx(3.0 / (100 / 1000 * 1.5))


def test_a_dearer_finetuned_serving_price_delays_or_prevents_break_even():
    base = PriceSpec(input_per_1k=1.0, output_per_1k=2.0)
    dear = PriceSpec(input_per_1k=1.0, output_per_1k=2.0, finetuned_input_per_1k=2.0, finetuned_output_per_1k=4.0)
    assert serving_prices(base, True) == (1.0, 2.0) and serving_prices(dear, False) == (1.0, 2.0)
    assert serving_prices(dear, True) == (2.0, 4.0)
    prompt_rung = rung_request_cost(500, 10, base, False)  # 0.52 per request
    at_base = break_even_requests(0.0, prompt_rung, 1.0, rung_request_cost(200, 10, base, True))
    at_dear = break_even_requests(0.0, prompt_rung, 1.0, rung_request_cost(200, 10, dear, True))
    assert at_base == pytest.approx(1.0 / (0.52 - 0.22)) and at_dear == pytest.approx(1.0 / (0.52 - 0.44))
    # at twice the price, 300 tokens saved of 500 no longer pay: it never breaks even
    assert break_even_requests(0.0, prompt_rung, 1.0, rung_request_cost(300, 10, dear, True)) is None
    partial = PriceSpec(input_per_1k=1.0, output_per_1k=2.0, finetuned_input_per_1k=3.0)
    assert serving_prices(partial, True) == (3.0, 2.0)


def test_break_even_edges():
    assert break_even_requests(0.0, 0.01, 1.0, 0.01) is None  # no saving: never
    assert break_even_requests(0.0, 0.01, 1.0, 0.02) is None  # dearer per request: never
    assert break_even_requests(1.0, 0.01, 1.0, 0.01) == 0.0  # the same costs: from the start
    assert break_even_requests(0.0, 0.02, 0.0, 0.01) == 0.0  # free build that saves: at once
    assert break_even_requests(2.0, 0.05, 5.0, 0.02) == pytest.approx(100.0)
    with pytest.raises(ValueError):
        break_even_requests(5.0, 0.05, 2.0, 0.02)


def test_request_and_per_1k_cost():
    # 200 prompt tokens at 0.5 per 1K + 50 completion tokens at 1.5 per 1K = 0.1 + 0.075
    assert request_cost(200, 50, 0.5, 1.5) == pytest.approx(0.175)
    assert cost_per_1k_requests(200, 50, 0.5, 1.5) == pytest.approx(175.0)
    assert cost_per_1k_requests(200, 50, 0.0, 0.0) == 0.0


def test_training_cost_is_hours_times_price():
    assert training_cost(1800, 2.0) == pytest.approx(1.0)
    assert training_cost(3600 * 3, 0.5) == pytest.approx(1.5)
    assert training_cost(0, 10.0) == 0.0


def test_a_batch_rung_costs_its_endpoint_discount():
    from ladder.tracking.costs import price_factor

    assert price_factor({"rung": "zero_shot"}) == 1.0
    assert price_factor({"execution": "batch", "batch_discount": 0.5}) == 0.5
    assert price_factor({"execution": "batch", "batch_discount": None}) == 1.0  # the endpoint lists none
