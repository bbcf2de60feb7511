"""Once a rung meets the target: which later rungs a climb still climbs.

A later prompt rung is skipped (a longer prompt cannot be cheaper per request), and so is each
fine-tune whose estimated cost at the task's `volume` (tracking/estimate.py: training tokens at
the measured training throughput, serving at the zero-shot prompt's length) is not below the
cheapest rung that met the target, measured on what it answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ladder.backends.base import Backend
from ladder.eval.sequential import decision_outcomes
from ladder.rungs import Rung
from ladder.rungs.prompt import ChatPrompt
from ladder.task import Task
from ladder.tracking.costs import price_factor, rung_request_cost
from ladder.tracking.estimate import CostEstimate, FinetuneEstimate, estimate_finetune, measured_train_throughput
from ladder.tracking.store import Store
from ladder.types import Message


def meets_target(task: Task, store: Store, run_id: str, rung: str) -> bool:
    """Whether this rung reaches the target on the rows rungs are chosen on (the dev rows with a
    selection split, else every eval row), a failed call counting as a failure (same rule as the report)."""
    row = next((r for r in store.rung_results(run_id) if r.rung == rung and r.status == "ok"), None)
    if row is None:
        return False
    outcomes = decision_outcomes(task, store.generations(row.id))
    return bool(outcomes) and sum(outcomes.values()) / len(outcomes) >= task.spec.target.value


@dataclass(frozen=True)
class MetTarget:
    """A climbed rung that met the target: what it costs at the task's volume, and its mean
    completion tokens (a fine-tune answering the same requests is assumed to answer as long)."""

    rung: str
    cost: CostEstimate
    completion_tokens: float


def met_cost(task: Task, store: Store, run_id: str, rung: str) -> MetTarget | None:
    """A climbed rung's build plus its mean answered request at its serving prices."""
    row = next((r for r in store.rung_results(run_id) if r.rung == rung and r.status == "ok"), None)
    answered = [] if row is None else [g for g in store.generations(row.id) if g.error is None]
    if row is None or not answered:
        return None
    prompt_tokens = sum(g.prompt_tokens for g in answered) / len(answered)
    completion_tokens = sum(g.completion_tokens for g in answered) / len(answered)
    per_request = rung_request_cost(prompt_tokens, completion_tokens, task.spec.prices,
                                    finetuned=row.kind == "finetune") * price_factor(row.candidate)
    return MetTarget(rung, CostEstimate(row.build_money, per_request, task.spec.volume), completion_tokens)


class FinetuneEstimator:
    """FinetuneEstimates for the rungs of one climb. The tokens of the zero-shot chats (train
    chats with their answers, eval prompts) are counted once, with the model's own tokenizer."""

    def __init__(self, task: Task, backend: Backend, adapters: Path):
        self.task, self.backend, self.adapters = task, backend, adapters
        self._counts: tuple[list[int], float] | None = None

    def _token_counts(self) -> tuple[list[int], float]:
        if self._counts is None:
            prompt = ChatPrompt(system=self.task.spec.prompts.system)
            train = [self.backend.count_tokens(prompt.render(ex) + (Message("assistant", ex.expected),))
                     for ex in self.task.train]
            evals = [self.backend.count_tokens(prompt.render(ex)) for ex in self.task.eval]
            self._counts = (train, sum(evals) / len(evals) if evals else 0.0)
        return self._counts

    def estimate(self, options: Any, completion_tokens: float) -> FinetuneEstimate | None:
        """None when the task has no training examples to estimate from."""
        train, prompt_tokens = self._token_counts()
        if not train:
            return None
        max_length = getattr(options, "max_length", None)
        tokens = sum(n if max_length is None else min(n, max_length) for n in train)
        return estimate_finetune(tokens, getattr(options, "epochs", 1), measured_train_throughput(self.adapters),
                                 prompt_tokens, completion_tokens, self.task.spec.prices, self.task.spec.volume)


def skip_once_met(rung: Rung, options: Any, met_by: str, cheapest: MetTarget, estimator: FinetuneEstimator,
                task: Task) -> str | None:
    """Why `rung` is skipped once a rung met the target; None when it could still be cheaper at volume."""
    if rung.kind != "finetune":
        return f"target met by {met_by} (--all climbs every rung)"
    estimate = estimator.estimate(options, cheapest.completion_tokens)
    if estimate is None:
        return f"target met by {met_by}; no training examples to estimate a fine-tune's cost from"
    if estimate.cost_at_volume < cheapest.cost.cost_at_volume:
        return None
    currency = task.spec.prices.currency
    return (f"target met by {met_by}; estimated {_money(estimate.build_money)} {currency} build + "
            f"{_money(1000 * estimate.per_request)} per 1K requests = {_money(estimate.cost_at_volume)} at volume "
            f"{estimate.volume:,}, not less than {cheapest.rung}'s {_money(cheapest.cost.cost_at_volume)} "
            f"(--all climbs every rung)")


def _money(x: float) -> str:
    return f"{x:.4g}"
