"""Ranking from pairwise outcomes: Bradley-Terry strengths, bootstrap intervals, and whether
the comparisons link every item.

P(i beats j) = 1 / (1 + exp(-(s_i - s_j))): a logistic regression on strength differences. A tie
counts as half a win for each side (the usual reading when the model has no tie parameter;
Davidson's 1970 tie model would add one, which a few dozen votes do not pin down).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

BT_PRIOR_SD = 5.0


def bradley_terry(n_items: int, outcomes: Sequence[tuple[int, int, float]],
                  prior_sd: float = BT_PRIOR_SD) -> np.ndarray:
    """Bradley-Terry strengths (log-odds scale) of `n_items` items from (i, j, score) outcomes:
    score 1 = i beat j, 0 = j beat i, 0.5 = a tie (half a win each).

    Fitted by maximum penalised likelihood with scipy's L-BFGS-B and the analytic gradient. A
    weak Gaussian prior (standard deviation `prior_sd` on each strength) keeps the fit finite when
    an item wins or loses every comparison (the plain maximum-likelihood strength is then
    infinite) and moves a well-determined fit very little. It also makes the strengths
    identifiable: the likelihood ignores a common shift, the prior does not, so the fit sums to
    zero (an item's strength is its log-odds of beating an average item). An item in no outcome
    gets 0.
    """
    items, opponents, scores = _outcome_arrays(n_items, outcomes)
    wins = _win_matrices(n_items, items[None, :], opponents[None, :], scores[None, :])
    return _fit(wins, prior_sd)[0]


def _outcome_arrays(n_items: int, outcomes: Sequence[tuple[int, int, float]]) -> tuple[np.ndarray, ...]:
    for i, j, score in outcomes:
        if i == j or not (0 <= i < n_items and 0 <= j < n_items) or not 0.0 <= score <= 1.0:
            raise ValueError(f"an outcome needs two different items below {n_items} and a score in [0, 1], "
                             f"got {(i, j, score)}")
    table = np.asarray([(i, j, s) for i, j, s in outcomes], dtype=float).reshape(-1, 3)
    return table[:, 0].astype(int), table[:, 1].astype(int), table[:, 2]


def _win_matrices(n_items: int, items: np.ndarray, opponents: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """W[b, i, j]: how often i beat j in sample b (rows of the arrays), a tie adding half a win to each."""
    samples = np.repeat(np.arange(items.shape[0]), items.shape[1])
    wins = np.zeros((items.shape[0], n_items, n_items))
    np.add.at(wins, (samples, items.ravel(), opponents.ravel()), scores.ravel())
    np.add.at(wins, (samples, opponents.ravel(), items.ravel()), 1.0 - scores.ravel())
    return wins


def _fit(wins: np.ndarray, prior_sd: float) -> np.ndarray:
    """Penalised Bradley-Terry fits of several win matrices at once (one per row of the result):
    the objective is their sum and each sample's strengths enter only its own term, so one
    L-BFGS-B run fits all of them (the bootstrap's resamples in a single call)."""
    from scipy.optimize import minimize  # scipy takes a noticeable time to import: only when used

    samples, n_items = wins.shape[0], wins.shape[1]
    precision = 1.0 / prior_sd**2

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        s = flat.reshape(samples, n_items)
        diff = s[:, :, None] - s[:, None, :]
        # -log sigmoid(d) = log(1 + exp(-d)), computed without overflow
        loss = float((wins * np.logaddexp(0.0, -diff)).sum()) + 0.5 * precision * float((s * s).sum())
        pull = wins * np.exp(-np.logaddexp(0.0, diff))  # W_ij (1 - sigmoid(s_i - s_j))
        return loss, (pull.sum(axis=1) - pull.sum(axis=2) + precision * s).ravel()

    fit = minimize(objective, np.zeros(samples * n_items), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-8, "ftol": 1e-15, "maxiter": 5000})
    if not fit.success:
        raise RuntimeError(f"the Bradley-Terry fit did not converge: {fit.message}")
    s = fit.x.reshape(samples, n_items)
    return s - s.mean(axis=1, keepdims=True)


def bradley_terry_intervals(n_items: int, outcomes: Sequence[tuple[int, int, float]], resamples: int = 1000,
                            seed: int = 0, confidence: float = 0.95,
                            prior_sd: float = BT_PRIOR_SD) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strengths (`bradley_terry`) and their percentile bootstrap intervals: the outcomes are
    resampled with replacement `resamples` times (seeded: the same input gives the same
    intervals) and refitted. Returns (strengths, lows, highs)."""
    strengths = bradley_terry(n_items, outcomes, prior_sd)
    if not outcomes:
        return strengths, strengths.copy(), strengths.copy()
    items, opponents, scores = _outcome_arrays(n_items, outcomes)
    picked = np.random.default_rng(seed).integers(0, len(outcomes), size=(resamples, len(outcomes)))
    draws = _fit(_win_matrices(n_items, items[picked], opponents[picked], scores[picked]), prior_sd)
    tail = 100 * (1 - confidence) / 2
    return strengths, np.percentile(draws, tail, axis=0), np.percentile(draws, 100 - tail, axis=0)


def connected(n_items: int, pairs: Sequence[tuple[int, int]]) -> bool:
    """Whether every item is linked to every other through compared pairs: only then are all
    Bradley-Terry strengths on one scale (otherwise each group is placed by the prior alone)."""
    if n_items <= 1:
        return True
    parent = list(range(n_items))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        parent[root(i)] = root(j)
    return len({root(i) for i in range(n_items)}) == 1
