"""Statistical honesty: can two rungs' accuracies be told apart at this eval size?

Two bootstrap 95% intervals that overlap mean "not distinguishable at this eval size" (a
conservative reading). How many examples would separate them is the classic two-proportion
sample size, per rung, for a two-sided test at level alpha with the given power:

    n = (z_{1-alpha/2} * sqrt(2 * pbar * (1 - pbar)) + z_{power} * sqrt(p1 (1 - p1) + p2 (1 - p2)))^2 / (p1 - p2)^2

with pbar = (p1 + p2) / 2. It takes the observed accuracies as the true ones: an estimate.
"""

from __future__ import annotations

import math
from statistics import NormalDist

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
