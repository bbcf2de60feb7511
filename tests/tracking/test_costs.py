import math

import pytest

from ladder.tracking.costs import break_even_requests, cost_per_1k_requests, request_cost, training_cost


def test_break_even_worked_example_from_design():
    # 0.492 yen to train, 190 tokens saved per request at 0.0000045 yen/token -> ~575.4 requests
    assert break_even_requests(0.492, 190, 0.0000045) == pytest.approx(575.44, abs=0.01)


def test_break_even_is_infinite_without_a_saving():
    assert math.isinf(break_even_requests(1.0, 0, 0.001))
    assert math.isinf(break_even_requests(1.0, -20, 0.001))
    assert math.isinf(break_even_requests(1.0, 100, 0.0))


def test_break_even_free_build_pays_back_at_once():
    assert break_even_requests(0.0, 100, 0.001) == 0.0


def test_request_and_per_1k_cost():
    # 200 prompt tokens at 0.5 per 1K + 50 completion tokens at 1.5 per 1K = 0.1 + 0.075
    assert request_cost(200, 50, 0.5, 1.5) == pytest.approx(0.175)
    assert cost_per_1k_requests(200, 50, 0.5, 1.5) == pytest.approx(175.0)
    assert cost_per_1k_requests(200, 50, 0.0, 0.0) == 0.0


def test_training_cost_is_hours_times_price():
    assert training_cost(1800, 2.0) == pytest.approx(1.0)
    assert training_cost(3600 * 3, 0.5) == pytest.approx(1.5)
    assert training_cost(0, 10.0) == 0.0
