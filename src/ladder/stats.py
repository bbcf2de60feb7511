"""Statistical honesty: how sure a figure is, and whether two rungs can be told apart.

One rung's accuracy gets a Wilson or Clopper-Pearson interval (`wilson_interval`,
`clopper_pearson_interval`): both stay honest at 0/n and n/n, where a percentile bootstrap
collapses to a point. Two rungs answer the same eval rows, so they are compared pairwise
(`compare_paired`): the difference with Newcombe's paired interval, an exact McNemar test on the
rows where they disagree, Connor's paired sample size, and Holm's adjustment when one rung is
picked among several (`holm_adjust`).

The older unpaired helpers below (`overlap`, `sample_size`, `formula`, `compare`) read two
bootstrap intervals and use the two-proportion sample size

    n = (z_{1-alpha/2} * sqrt(2 * pbar * (1 - pbar)) + z_{power} * sqrt(p1 (1 - p1) + p2 (1 - p2)))^2 / (p1 - p2)^2

with pbar = (p1 + p2) / 2; they ignore the pairing and go once the report uses the paired ones.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Sequence

ALPHA = 0.05
POWER = 0.8


def overlap(a: list[float] | None, b: list[float] | None) -> bool:
    """Whether two [low, high] intervals share a point (None: unknown, treated as overlapping)."""
    if not a or not b:
        return True
    return a[0] <= b[1] and b[0] <= a[1]


def sample_size(p1: float, p2: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Examples per rung for a two-proportion test to separate p1 from p2; None if p1 == p2."""
    if p1 == p2:
        return None
    z_a = NormalDist().inv_cdf(1 - alpha / 2)
    z_b = NormalDist().inv_cdf(power)
    pbar = (p1 + p2) / 2
    top = z_a * math.sqrt(2 * pbar * (1 - pbar)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(top**2 / (p1 - p2) ** 2)


def formula(p1: float, p2: float, alpha: float = ALPHA, power: float = POWER) -> str:
    """The sample-size formula with the numbers filled in, for the report."""
    z_a, z_b = NormalDist().inv_cdf(1 - alpha / 2), NormalDist().inv_cdf(power)
    n = sample_size(p1, p2, alpha, power)
    pbar = (p1 + p2) / 2
    head = (f"n = ({z_a:.2f} x sqrt(2 x {pbar:.3f} x {1 - pbar:.3f}) + {z_b:.2f} x sqrt({p1:.3f} x {1 - p1:.3f}"
            f" + {p2:.3f} x {1 - p2:.3f}))^2 / ({p1:.3f} - {p2:.3f})^2")
    return f"{head}: equal accuracies, no eval size separates them" if n is None else f"{head} = {n} per rung"


def compare(name_a: str, p_a: float, ci_a: list[float] | None, name_b: str, p_b: float,
            ci_b: list[float] | None, n_eval: int) -> dict[str, object]:
    """A note on whether rung a and rung b differ, with the eval size that would separate them."""
    if not overlap(ci_a, ci_b):
        return {"rungs": [name_a, name_b], "distinguishable": True, "needed": None, "formula": "",
                "text": f"{name_a} ({p_a:.1%}) and {name_b} ({p_b:.1%}) differ beyond their 95% intervals"}
    n = sample_size(p_a, p_b)
    if n is None:
        more = "equal on this eval set: no eval size would separate them on these figures"
    else:
        more = f"about {n} examples per rung would separate them ({max(0, n - n_eval)} more than the {n_eval} now)"
    return {"rungs": [name_a, name_b], "distinguishable": False, "needed": n,
            "formula": "" if n is None else formula(p_a, p_b),
            "text": (f"{name_a} ({p_a:.1%}) and {name_b} ({p_b:.1%}) are not distinguishable at this eval "
                     f"size (n = {n_eval}, their 95% intervals overlap); {more}")}


# --- Exact and score intervals for one proportion, and paired comparisons of two rungs ---
#
# Every rung answers the same eval rows, so two rungs are compared row by row (paired), not as
# two independent samples: only the rows where they disagree (the discordant pairs) carry
# information about which one is better.


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (Wilson 1927).

    Unlike a percentile bootstrap, it does not collapse to a point at 0/n or n/n: 0 of 10 gives
    [0, 0.278]. For n = 0 nothing is known and the interval is [0, 1].
    """
    _check_counts(k, n)
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # the exact ends at k = 0 and k = n, without rounding leaving them a hair inside
    return (0.0 if k == 0 else max(0.0, centre - half)), (1.0 if k == n else min(1.0, centre + half))


def clopper_pearson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson exact interval for k successes in n trials (Clopper & Pearson 1934).

    The ends are beta quantiles: lower = Beta(alpha/2; k, n - k + 1), upper =
    Beta(1 - alpha/2; k + 1, n - k); its coverage is at least `confidence` for every true rate.
    50 of 50 gives [0.929, 1]. For n = 0 the interval is [0, 1].
    """
    from scipy.stats import beta  # scipy.stats takes a noticeable time to import: only when used

    _check_counts(k, n)
    if n == 0:
        return 0.0, 1.0
    alpha = 1 - confidence
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def _check_counts(k: int, n: int) -> None:
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ValueError(f"need 0 <= k <= n, got k = {k}, n = {n}")


def mcnemar_exact_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b and c discordant pairs (McNemar 1947; exact form).

    Under "no difference" each discordant pair falls either way with probability 1/2, so b is
    Binomial(b + c, 1/2) and p = min(1, 2 x P(X <= min(b, c))). No discordant pair: p = 1.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got {b}, {c}")
    d = b + c
    if d == 0:
        return 1.0
    tail = sum(math.comb(d, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**d)


def paired_difference_interval(both: int, only_a: int, only_b: int, neither: int,
                               confidence: float = 0.95) -> tuple[float, float]:
    """Interval for p_a - p_b on paired rows: Newcombe's hybrid score method 10 (Newcombe 1998,
    Statistics in Medicine 17:2635), as in Fagerland, Lydersen & Laake (2017), ch. 8.

    Each proportion's Wilson interval is combined by "square and add", corrected for the
    correlation phi between the paired outcomes (phi = (ad - bc) / sqrt(row and column totals),
    with ad - bc reduced by n/2 when positive, and 0 when it lies in [0, n/2]).
    """
    n = both + only_a + only_b + neither
    if n == 0:
        return -1.0, 1.0
    p_a, p_b = (both + only_a) / n, (both + only_b) / n
    low_a, high_a = wilson_interval(both + only_a, n, confidence)
    low_b, high_b = wilson_interval(both + only_b, n, confidence)
    totals = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    phi = 0.0
    if totals > 0:
        cross = both * neither - only_a * only_b
        if cross > n / 2:
            phi = (cross - n / 2) / math.sqrt(totals)
        elif cross < 0:
            phi = cross / math.sqrt(totals)
    diff = p_a - p_b
    down_a, up_b = p_a - low_a, high_b - p_b
    up_a, down_b = high_a - p_a, p_b - low_b
    low = diff - math.sqrt(max(0.0, down_a**2 + up_b**2 - 2 * phi * down_a * up_b))
    high = diff + math.sqrt(max(0.0, down_b**2 + up_a**2 - 2 * phi * down_b * up_a))
    return max(-1.0, low), min(1.0, high)


def paired_sample_size(p_only_a: float, p_only_b: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Pairs (eval rows) for McNemar's test to tell two rungs apart (Connor 1987, Biometrics 43:207).

    With discordance rates p_only_a (a right, b wrong) and p_only_b, psi = their sum and
    delta = their difference:  n = (z_{1-alpha/2} sqrt(psi) + z_{power} sqrt(psi - delta^2))^2 / delta^2.
    Takes the observed rates as the true ones: an estimate. None when delta = 0.
    """
    delta, psi = p_only_a - p_only_b, p_only_a + p_only_b
    if delta == 0:
        return None
    z_a, z_b = NormalDist().inv_cdf(1 - alpha / 2), NormalDist().inv_cdf(power)
    return math.ceil((z_a * math.sqrt(psi) + z_b * math.sqrt(psi - delta**2)) ** 2 / delta**2)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values for m comparisons (Holm 1979), in the input's order.

    The i-th smallest p is multiplied by (m - i + 1), kept monotone and capped at 1; rejecting
    where the adjusted p <= alpha controls the family-wise error rate at alpha.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def compare_paired(name_a: str, a: Sequence[bool], name_b: str, b: Sequence[bool],
                   alpha: float = ALPHA, power: float = POWER) -> dict[str, object]:
    """Rung a against rung b on the same eval rows (a[i], b[i]: did each pass row i).

    Returns the difference p_a - p_b with its Newcombe paired 95% interval, the exact McNemar
    p-value, the discordant counts, n, the paired n that would separate them (Connor 1987) and a
    one-line text for the report. Apply `holm_adjust` to the p-values when one rung is chosen
    among several.
    """
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} answered different rows ({len(a)} vs {len(b)})")
    n = len(a)
    both = sum(x and y for x, y in zip(a, b))
    only_a = sum(x and not y for x, y in zip(a, b))
    only_b = sum(y and not x for x, y in zip(a, b))
    neither = n - both - only_a - only_b
    diff = (only_a - only_b) / n if n else 0.0
    low, high = paired_difference_interval(both, only_a, only_b, neither)
    p = mcnemar_exact_p(only_a, only_b)
    needed = paired_sample_size(only_a / n, only_b / n, alpha, power) if n else None
    head = (f"{name_a} - {name_b}: {100 * diff:+.1f} points [95% CI {100 * low:+.1f} to {100 * high:+.1f}], "
            f"exact McNemar p = {p:.3g} ({only_a} rows only {name_a} passes, {only_b} only {name_b}; n = {n})")
    if p <= alpha:
        more = "they differ"
    elif needed is None:
        more = "no difference on these rows: no eval size would separate them on these figures"
    else:
        more = (f"not distinguishable; about {needed} paired rows would separate them at {power:.0%} power "
                f"({max(0, needed - n)} more than the {n} now)")
    return {"rungs": [name_a, name_b], "n": n, "difference": diff, "ci": [low, high], "p_value": p,
            "only_a": only_a, "only_b": only_b, "distinguishable": p <= alpha, "needed": needed,
            "text": f"{head}: {more}"}
