"""Scoring rules shared by the report, the diagnosis and the climb's early stop.

An example passes `overall` when every one of its checks passes, and passes `form` (or
`knowledge`) when every check of that tag passes. A failed call (error) is never a wrong
answer: it is left out of the accuracies. An accuracy is None when there is no check of that
tag (overall: no check). Works on anything with `.error` and `.checks` (store rows, results).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

METRICS = ("form", "knowledge", "overall")
BOOTSTRAP_RESAMPLES = 1000


def passes(gen: Any, tag: str) -> bool:
    """True when the call succeeded and every check of `tag` passed (`overall`: every check)."""
    if gen.error is not None:
        return False
    return all(c.passed for c in gen.checks if tag == "overall" or c.tag == tag)


def tag_result(gen: Any, tag: str) -> bool | None:
    """Whether every check of `tag` passed; None when the example has no such check."""
    tagged = [c for c in gen.checks if c.tag == tag]
    return all(c.passed for c in tagged) if tagged else None


def bootstrap_ci(passed: np.ndarray, seed: int, resamples: int = BOOTSTRAP_RESAMPLES) -> list[float]:
    """95% percentile interval of the mean of a 0/1 vector, from seeded resamples."""
    rng = np.random.default_rng(seed)
    n = len(passed)
    means = np.empty(resamples)
    block = max(1, 2_000_000 // n)  # bound the index matrix's memory for large eval sets
    for start in range(0, resamples, block):
        stop = min(start + block, resamples)
        means[start:stop] = passed[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return [float(lo), float(hi)]


def accuracy(gens: Iterable[Any], metric: str) -> float | None:
    """Share of answered examples passing `metric`; None without answers or checks of that tag."""
    answered = [g for g in gens if g.error is None]
    tags = {c.tag for g in answered for c in g.checks}
    if not answered or not (tags if metric == "overall" else metric in tags):
        return None
    return float(np.mean([passes(g, metric) for g in answered]))


def accuracies(gens: Sequence[Any], seed: int) -> dict[str, Any]:
    """`{metric}_accuracy` and `{metric}_ci` (bootstrap 95%) for form, knowledge and overall."""
    answered = [g for g in gens if g.error is None]
    out: dict[str, Any] = {}
    for metric in METRICS:
        value = accuracy(answered, metric)
        out[f"{metric}_accuracy"] = value
        out[f"{metric}_ci"] = None if value is None else bootstrap_ci(
            np.array([passes(g, metric) for g in answered], dtype=float), seed)
    return out


def check_rates(gens: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Per check name: its tag and the share of answered examples carrying it that pass it."""
    seen: dict[str, tuple[str, list[bool]]] = {}
    for g in gens:
        if g.error is None:
            for c in g.checks:
                seen.setdefault(c.name, (c.tag, []))[1].append(c.passed)
    return {name: {"tag": tag, "pass_rate": float(np.mean(results))} for name, (tag, results) in seen.items()}
