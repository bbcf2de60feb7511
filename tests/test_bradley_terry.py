"""Bradley-Terry strengths against simulated votes and closed forms; seeded bootstrap intervals."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from ladder.bradley_terry import bradley_terry, bradley_terry_intervals, connected


def _simulated_votes(strengths, n, seed):
    rng = random.Random(seed)
    votes = []
    for _ in range(n):
        i, j = rng.sample(range(len(strengths)), 2)
        p = 1 / (1 + math.exp(-(strengths[i] - strengths[j])))
        votes.append((i, j, 1.0 if rng.random() < p else 0.0))
    return votes


def test_bradley_terry_recovers_the_order_of_simulated_strengths():
    truth = [-1.0, 0.8, 0.0, 2.0]
    fitted = bradley_terry(4, _simulated_votes(truth, 600, seed=7))
    assert list(np.argsort(fitted)) == list(np.argsort(truth))
    assert float(fitted.sum()) == pytest.approx(0.0, abs=1e-9)  # identifiable: sums to zero
    centred = np.array(truth) - np.mean(truth)
    assert np.abs(fitted - centred).max() < 0.4


def test_bradley_terry_two_items_has_the_closed_form():
    # two items, i wins w of n: without the prior s_i - s_j = log(w / (n - w)); the weak prior
    # shrinks it a little, never past it
    votes = [(0, 1, 1.0)] * 30 + [(0, 1, 0.0)] * 10
    s = bradley_terry(2, votes, prior_sd=1e6)
    assert s[0] - s[1] == pytest.approx(math.log(3), abs=1e-5) and s[0] == pytest.approx(-s[1])
    shrunk = bradley_terry(2, votes)
    assert 0.95 * math.log(3) < shrunk[0] - shrunk[1] < math.log(3)


def test_ties_are_half_a_win_each():
    only_ties = bradley_terry(3, [(0, 1, 0.5)] * 10 + [(1, 2, 0.5)] * 10)
    assert np.allclose(only_ties, 0.0, atol=1e-6)
    # one win and one loss read exactly like two ties
    assert np.allclose(bradley_terry(2, [(0, 1, 1.0), (0, 1, 0.0)] * 5 + [(0, 1, 1.0)] * 3),
                       bradley_terry(2, [(0, 1, 0.5)] * 10 + [(0, 1, 1.0)] * 3), atol=1e-6)


def test_a_clean_sweep_stays_finite():
    s = bradley_terry(2, [(0, 1, 1.0)] * 40)
    assert np.isfinite(s).all() and s[0] > 2


def test_bootstrap_intervals_are_seeded_and_hold_the_estimate():
    votes = _simulated_votes([-1.0, 0.0, 1.5], 150, seed=3)
    s, low, high = bradley_terry_intervals(3, votes, resamples=300, seed=1)
    again = bradley_terry_intervals(3, votes, resamples=300, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip((s, low, high), again))
    assert (low <= s).all() and (s <= high).all() and (high - low > 0.1).all()
    other = bradley_terry_intervals(3, votes, resamples=300, seed=2)
    assert not np.array_equal(low, other[1])
    # strong separation: the weakest item's interval lies below the strongest's
    assert high[0] < low[2]
    with pytest.raises(ValueError):
        bradley_terry(2, [(0, 0, 1.0)])


def test_connected_comparison_graphs():
    assert connected(3, [(0, 1), (1, 2)]) and connected(1, [])
    assert not connected(4, [(0, 1), (2, 3)]) and not connected(3, [(0, 1)])


def test_paired_standard_error_of_row_differences():
    from ladder.stats import paired_standard_error

    diff, se, n = paired_standard_error([0, 0, 0, 0], [1, 0, 1, 0])
    assert (diff, n) == (0.5, 4) and se == pytest.approx(math.sqrt(1 / 3) / 2)
    assert paired_standard_error([0.2], [0.9])[1] == math.inf  # one pair: no spread known
    with pytest.raises(ValueError):
        paired_standard_error([1, 0], [1])
