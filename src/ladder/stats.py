"""Statistical honesty: how sure a figure is, and whether two rungs can be told apart.

One rung's accuracy gets a Wilson or Clopper-Pearson interval (`wilson_interval`,
`clopper_pearson_interval`): both stay honest at 0/n and n/n, where a percentile bootstrap
collapses to a point. Two rungs answer the same eval rows, so they are compared pairwise
(`compare_paired`): the difference with Newcombe's paired interval, an exact McNemar test on the
rows where they disagree, Connor's paired sample size, and Holm's adjustment when one rung is
picked among several (`holm_adjust`).

Agreement between a judge and a reference (people, tier-1 checks) is Cohen's kappa with a 95%
interval (`agreement`, `cohen_kappa`); agreement among several raters of the same answers is
Fleiss' kappa (`fleiss_kappa`). Pairwise votes rank items by a Bradley-Terry fit
(bradley_terry.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Hashable, Mapping, Sequence

import numpy as np

ALPHA = 0.05
POWER = 0.8


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
    # the beta quantile is the inverse regularized incomplete beta function: scipy.special's equals
    # scipy.stats.beta.ppf's on every k <= n <= 200 at eight levels, and imports in 0.18 s, not 0.53
    from scipy.special import betaincinv

    _check_counts(k, n)
    if n == 0:
        return 0.0, 1.0
    alpha = 1 - confidence
    low = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, alpha / 2))
    high = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - alpha / 2))
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


def paired_standard_error(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, int]:
    """(mean of b - a, its standard error, n) over paired rows: the sample standard deviation of
    the row differences over sqrt(n). The error is infinite below two pairs (nothing is known of
    the spread). Works for pass/fail (1/0) rows and for continuous scores alike."""
    if len(a) != len(b):
        raise ValueError(f"paired rows differ in number: {len(a)} vs {len(b)}")
    n = len(a)
    diffs = [y - x for x, y in zip(a, b)]
    mean = sum(diffs) / n if n else 0.0
    if n < 2:
        return mean, math.inf, n
    variance = sum((d - mean) ** 2 for d in diffs) / (n - 1)
    return mean, math.sqrt(variance / n), n


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
                   alpha: float = ALPHA, power: float = POWER,
                   p_adjusted: float | None = None) -> dict[str, object]:
    """Rung a against rung b on the same eval rows (a[i], b[i]: did each pass row i).

    Returns the difference p_a - p_b with its Newcombe paired 95% interval, the exact McNemar
    p-value, the discordant counts, n, the paired n that would separate them (Connor 1987) and a
    one-line text for the report. `p_adjusted` (e.g. Holm's, when one rung is chosen among
    several: see `compare_one_to_many`) then decides "they differ" instead of the raw p-value.
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
    decisive = p if p_adjusted is None else p_adjusted
    if p_adjusted is not None:
        head += f", Holm-adjusted p = {p_adjusted:.3g}"
    if decisive <= alpha:
        more = "they differ"
    elif needed is None:
        more = "no difference on these rows: no eval size would separate them on these figures"
    else:
        more = (f"not distinguishable; about {needed} paired rows would separate them at {power:.0%} power "
                f"({max(0, needed - n)} more than the {n} now)")
    return {"rungs": [name_a, name_b], "n": n, "difference": diff, "ci": [low, high], "p_value": p,
            "p_adjusted": p_adjusted, "only_a": only_a, "only_b": only_b, "distinguishable": decisive <= alpha,
            "needed": needed, "text": f"{head}: {more}"}


def compare_one_to_many(name: str, chosen: Mapping[str, bool],
                        others: Mapping[str, Mapping[str, bool]]) -> list[dict[str, object]]:
    """The chosen rung against each other rung, on the rows both were scored on (matched by
    example id: row id -> passed). With more than one comparison, the family's p-values are
    Holm-adjusted, since the chosen rung was picked among them."""
    pairs = {}
    for other, outcomes in others.items():
        shared = sorted(set(chosen) & set(outcomes))
        pairs[other] = ([chosen[i] for i in shared], [outcomes[i] for i in shared])
    raw = [compare_paired(name, a, other, b) for other, (a, b) in pairs.items()]
    if len(raw) < 2:
        return raw
    adjusted = holm_adjust([float(c["p_value"]) for c in raw])  # type: ignore[arg-type]
    return [compare_paired(name, a, other, b, p_adjusted=q) for (other, (a, b)), q in zip(pairs.items(), adjusted)]


# --- Agreement: Cohen's kappa (two raters), Fleiss' kappa (two or more) ---
#
# Raw agreement flatters a rater who says "pass" to everything when most answers pass; kappa
# counts only the agreement beyond what the two raters' own rates of each label would give by
# chance: kappa = (p_o - p_e) / (1 - p_e).


def confusion_matrix(first: Sequence[Hashable], second: Sequence[Hashable],
                     labels: Sequence[Hashable]) -> list[list[int]]:
    """Counts of (first rater's label, second rater's label): rows follow `first`, columns
    `second`, both in the order of `labels`."""
    if len(first) != len(second):
        raise ValueError(f"the raters labelled different numbers of items ({len(first)} vs {len(second)})")
    index = {label: i for i, label in enumerate(labels)}
    table = [[0] * len(labels) for _ in labels]
    for x, y in zip(first, second):
        table[index[x]][index[y]] += 1
    return table


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa of a square table, or why it is undefined (then `kappa` and `ci` are None)."""

    n: int
    observed: float | None  # p_o, the raw agreement
    chance: float | None  # p_e, the agreement expected from the raters' own label rates
    kappa: float | None
    se: float | None  # large-sample standard error (Fleiss, Cohen & Everitt 1969)
    ci: tuple[float, float] | None
    undefined: str | None = None  # why there is no kappa


def cohen_kappa(table: Sequence[Sequence[int]], confidence: float = 0.95) -> Kappa:
    """Cohen's kappa (Cohen 1960) of a k x k table of counts, with a `confidence` interval.

    The interval is analytic, not a bootstrap: the large-sample standard error of Fleiss, Cohen
    & Everitt (1969, Psychological Bulletin 72:323), deterministic and defined wherever kappa is,
    whereas bootstrap resamples of the few dozen labels a judge card has often hold one class only
    (kappa undefined). That Wald interval collapses to a point at perfect agreement (its error is
    0 there: 10 of 10 agreements would read [1, 1]), so each end is widened, where needed, to the
    Wilson interval of the observed agreement mapped through kappa with the chance agreement held
    fixed, (p - p_e) / (1 - p_e), which stays open at 0/n and n/n. The interval is the wider of the
    two at each end: conservative, which is the safe side for deciding whether to trust a judge.

    Undefined (reported as such, never as 0 or 1) with no items, or when both raters gave one and
    the same label to everything: chance agreement is then 1 and kappa is 0/0.
    """
    counts = np.asarray(table, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or (counts < 0).any():
        raise ValueError(f"need a square table of counts >= 0, got {table!r}")
    n = int(counts.sum())
    if n == 0:
        return Kappa(0, None, None, None, None, None, "no items rated by both")
    p = counts / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    observed, chance = float(np.trace(p)), float(rows @ cols)
    if chance >= 1 - 1e-12:
        return Kappa(n, observed, chance, None, None, None,
                     "both gave one and the same label to every item: chance agreement is 1, kappa is 0/0")
    kappa = (observed - chance) / (1 - chance)
    # Fleiss, Cohen & Everitt (1969): the non-null variance of kappa
    diagonal = np.diag(p) * (1 - (rows + cols) * (1 - kappa)) ** 2
    off = p * (cols[:, None] + rows[None, :]) ** 2
    np.fill_diagonal(off, 0.0)
    variance = (diagonal.sum() + (1 - kappa) ** 2 * off.sum() - (kappa - chance * (1 - kappa)) ** 2) / (n * (1 - chance) ** 2)
    se = math.sqrt(max(0.0, float(variance)))
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    agree_low, agree_high = wilson_interval(int(round(observed * n)), n, confidence)
    low = min(kappa - z * se, (agree_low - chance) / (1 - chance))
    high = max(kappa + z * se, (agree_high - chance) / (1 - chance))
    return Kappa(n, observed, chance, kappa, se, (max(-1.0, low), min(1.0, high)))


def agreement(first: Sequence[Hashable], second: Sequence[Hashable], labels: Sequence[Hashable],
              confidence: float = 0.95) -> dict[str, object]:
    """How far two raters of the same items agree: n, the confusion matrix (rows `first`,
    columns `second`, in the order of `labels`), the raw agreement with its Wilson interval, and
    Cohen's kappa with its interval (`cohen_kappa`; None with the reason when undefined)."""
    table = confusion_matrix(first, second, labels)
    k = cohen_kappa(table, confidence)
    agreed = sum(table[i][i] for i in range(len(labels)))
    return {
        "n": k.n, "labels": list(labels), "confusion": table,
        "agreement": agreed / k.n if k.n else None,
        "agreement_ci": list(wilson_interval(agreed, k.n, confidence)) if k.n else None,
        "kappa": k.kappa, "kappa_ci": None if k.ci is None else list(k.ci), "kappa_se": k.se,
        "kappa_undefined": k.undefined,
    }


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa (Fleiss 1971) for items rated by two or more raters each.

    `counts[i][j]`: how many raters put item i in category j. Raters may differ in number from
    item to item (each item's agreement is the share of agreeing rater pairs among its own
    m_i (m_i - 1) ordered pairs); items with fewer than two ratings carry no agreement and are
    left out. None when no item has two ratings or every rating is the same category (chance
    agreement 1: kappa is 0/0). With two raters on every item it equals Scott's pi.
    """
    table = np.asarray(counts, dtype=float)
    if table.size == 0:
        return None
    if table.ndim != 2 or (table < 0).any():
        raise ValueError(f"need an items x categories table of counts >= 0, got {counts!r}")
    raters = table.sum(axis=1)
    table, raters = table[raters >= 2], raters[raters >= 2]
    if len(table) == 0:
        return None
    per_item = ((table**2).sum(axis=1) - raters) / (raters * (raters - 1))
    shares = table.sum(axis=0) / raters.sum()
    chance = float((shares**2).sum())
    if chance >= 1 - 1e-12:
        return None
    return (float(per_item.mean()) - chance) / (1 - chance)
