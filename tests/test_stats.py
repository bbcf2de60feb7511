"""Intervals and paired comparisons against closed forms, published examples and exact sums."""

from __future__ import annotations

import math
import random
from statistics import NormalDist

import pytest

from ladder.stats import (ALPHA, POWER, clopper_pearson_interval, compare_paired, holm_adjust,
                                    mcnemar_exact_p, paired_difference_interval, paired_sample_size,
                                    wilson_interval)

Z = NormalDist().inv_cdf(0.975)


def test_clopper_pearson_at_the_ends_has_a_closed_form():
    # k = n: lower = (alpha/2)^(1/n); k = 0: upper = 1 - (alpha/2)^(1/n)
    low, high = clopper_pearson_interval(50, 50)
    assert low == pytest.approx(0.025 ** (1 / 50)) and high == 1.0
    assert low == pytest.approx(0.929, abs=0.001)  # issue 10: "an exact interval is about 92.9-100"
    assert clopper_pearson_interval(0, 10) == (0.0, pytest.approx(1 - 0.025 ** (1 / 10)))


def test_clopper_pearson_covers_at_least_the_confidence():
    # the ends are where the binomial tail equals alpha/2: P(X >= k | low) = P(X <= k | high) = 0.025
    k, n = 7, 20
    low, high = clopper_pearson_interval(k, n)
    tail_up = sum(math.comb(n, i) * low**i * (1 - low) ** (n - i) for i in range(k, n + 1))
    tail_down = sum(math.comb(n, i) * high**i * (1 - high) ** (n - i) for i in range(k + 1))
    assert tail_up == pytest.approx(0.025) and tail_down == pytest.approx(0.025)


def test_wilson_ends_and_an_inner_value():
    # 0 of n: upper = z^2 / (n + z^2)
    assert wilson_interval(0, 10) == (0.0, pytest.approx(Z**2 / (10 + Z**2)))
    assert wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(50, 50)
    assert high == 1.0 and low == pytest.approx(50 / (50 + Z**2))
    # the interval's ends are the roots of |p - phat| = z sqrt(p (1 - p) / n)
    k, n = 13, 40
    for end in wilson_interval(k, n):
        assert abs(end - k / n) == pytest.approx(Z * math.sqrt(end * (1 - end) / n))


def test_intervals_never_collapse_and_know_nothing_at_n_zero():
    for k, n in [(0, 1), (1, 1), (5, 5), (0, 200), (200, 200)]:
        for interval in (wilson_interval, clopper_pearson_interval):
            low, high = interval(k, n)
            assert 0.0 <= low <= k / n <= high <= 1.0 and high - low > 0.01
    assert wilson_interval(0, 0) == clopper_pearson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_exact_mcnemar_is_the_binomial_sign_test():
    assert mcnemar_exact_p(1, 9) == pytest.approx(2 * (1 + 10) / 2**10)
    assert mcnemar_exact_p(9, 1) == mcnemar_exact_p(1, 9)
    assert mcnemar_exact_p(0, 6) == pytest.approx(2 / 2**6)
    assert mcnemar_exact_p(5, 5) == 1.0 and mcnemar_exact_p(0, 0) == 1.0


def test_newcombe_paired_interval_matches_the_published_example():
    # Fagerland, Lydersen & Laake (2017), ch. 8, Cavo et al. (2012): table 59 6 / 16 80,
    # Newcombe square-and-add estimate -0.0621 (95% CI -0.1186 to -0.0046)
    low, high = paired_difference_interval(59, 6, 16, 80)
    assert (low, high) == (pytest.approx(-0.1186, abs=1e-4), pytest.approx(-0.0046, abs=1e-4))


def test_paired_interval_stays_inside_minus_one_to_one_and_holds_the_estimate():
    for cells in [(0, 10, 0, 0), (10, 0, 0, 0), (0, 0, 10, 0), (3, 4, 1, 2), (0, 0, 0, 7)]:
        both, a, b, neither = cells
        diff = (a - b) / sum(cells)
        low, high = paired_difference_interval(*cells)
        assert -1.0 <= low <= diff <= high <= 1.0 and high > low


def _mcnemar_power(n: int, p_only_a: float, p_only_b: float, alpha: float = ALPHA) -> float:
    """Exact power of the two-sided exact McNemar test with n pairs (sum over the discordant count)."""
    psi = p_only_a + p_only_b
    share = p_only_a / psi
    power = 0.0
    for d in range(n + 1):
        p_d = math.comb(n, d) * psi**d * (1 - psi) ** (n - d)
        if p_d < 1e-12:
            continue
        power += p_d * sum(math.comb(d, b) * share**b * (1 - share) ** (d - b)
                           for b in range(d + 1) if mcnemar_exact_p(b, d - b) <= alpha)
    return power


def test_paired_sample_size_gives_about_the_power_it_promises():
    n = paired_sample_size(0.15, 0.05)
    assert n == math.ceil((Z * math.sqrt(0.2) + NormalDist().inv_cdf(POWER) * math.sqrt(0.2 - 0.01)) ** 2 / 0.01)
    # Connor's normal approximation against the exact test it stands for: close to 80% at n,
    # far below at half of n
    assert 0.72 <= _mcnemar_power(n, 0.15, 0.05) <= 0.88
    assert _mcnemar_power(n // 2, 0.15, 0.05) < 0.6
    assert paired_sample_size(0.1, 0.1) is None
    assert paired_sample_size(0.05, 0.15) == n


def test_holm_adjustment():
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm_adjust([0.5]) == [0.5] and holm_adjust([]) == []
    assert holm_adjust([0.6, 0.9]) == [1.0, 1.0]


def test_compare_paired_counts_the_rows_where_rungs_disagree():
    rng = random.Random(3)
    a = [rng.random() < 0.9 for _ in range(60)]
    b = [x if rng.random() < 0.8 else not x for x in a]
    r = compare_paired("lora_sft", a, "few_shot", b)
    only_a = sum(x and not y for x, y in zip(a, b))
    only_b = sum(y and not x for x, y in zip(a, b))
    assert (r["only_a"], r["only_b"], r["n"]) == (only_a, only_b, 60)
    assert r["difference"] == pytest.approx(sum(a) / 60 - sum(b) / 60)
    assert r["ci"][0] <= r["difference"] <= r["ci"][1]
    assert r["p_value"] == mcnemar_exact_p(only_a, only_b)
    assert r["needed"] == paired_sample_size(only_a / 60, only_b / 60)
    assert r["text"].startswith("lora_sft - few_shot: ") and "exact McNemar p = " in r["text"]


def test_compare_paired_separates_a_clear_win_and_says_when_it_cannot():
    win = compare_paired("ft", [True] * 50, "prompt", [True] * 30 + [False] * 20)
    assert win["distinguishable"] and win["ci"][0] > 0 and "they differ" in win["text"]
    tie = compare_paired("x", [True, False] * 10, "y", [False, True] * 10)
    assert not tie["distinguishable"] and tie["needed"] is None and tie["difference"] == 0
    close = compare_paired("x", [True] * 3 + [False] * 17, "y", [False] * 20)
    assert not close["distinguishable"] and close["needed"] > 20 and "paired rows would separate" in close["text"]
    with pytest.raises(ValueError):
        compare_paired("x", [True], "y", [True, False])


def test_paired_standard_error_of_row_differences():
    from ladder.stats import paired_standard_error

    diff, se, n = paired_standard_error([0, 0, 0, 0], [1, 0, 1, 0])
    assert (diff, n) == (0.5, 4) and se == pytest.approx(math.sqrt(1 / 3) / 2)
    assert paired_standard_error([0.2], [0.9])[1] == math.inf  # one pair: no spread known
    with pytest.raises(ValueError):
        paired_standard_error([1, 0], [1])
