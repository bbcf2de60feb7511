"""Early stopping on a held-out slice of the training data (never the eval split).

Most of a fixed-epoch run can buy nothing: on balance-shift the training loss was flat from
about step 8 of 40. With `early_stop_patience` > 0, the loop sets aside `holdout_fraction` of
the training items (seeded) and evaluates them every `early_stop_every` steps, by one of two
measures:

- the task's target metric (`HeldoutMetric`): the held-out items are answered greedily with the
  weights being trained (as the eval will answer: rungs/heldout.py merges them into the eval's
  model) and scored by the task's checks, the pass rate the target is set on.
  Higher is better, and a perfect pass rate stops training at once (it cannot improve). The
  fine-tuning rungs use it whenever the target metric is scored by checks alone;
- otherwise the held-out answer loss (no gradients, the loss the trainer trains with), lower
  is better. It was the only measure at first, and measured wanting: on balance-shift it kept
  falling to step 32 of 36 while the answers' format had broken (issue notes).

Training stops once `patience` evaluations in a row have not improved on the best. The adapter
saved is the one of the best evaluation, not the last step's. The learning-rate schedule stays
the one planned for every epoch: stopping cuts it short rather than compressing it, so a run
that never stops trains exactly like one without early stopping on the same items.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple

MIN_HOLDOUT = 2  # fewer held-out items than this say nothing: early stopping is then left off
MIN_TRAIN = 4  # and it never takes the training set below this

LossFn = Callable[[Any, list[int]], tuple[Any, int]]
LOSS = "loss"  # the measure's name when it is the held-out answer loss


class HeldoutMetric(NamedTuple):
    """A target metric to stop on: its name, the pass rate of held-out items under a model
    (`score(model, item indices)`, called without gradients, in eval mode and outside the
    training's autocast), and a key naming
    everything besides the model and the training data that decides those rates (the checks,
    the generation settings), which keys the adapter."""

    name: str
    score: Callable[[Any, list[int]], float]
    key: str
    # called with the adapter's folder once it is saved (not by the trainer: by whoever trained)
    saved: Callable[[Path], None] = lambda adapter_dir: None


def split_holdout(n_items: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, held-out) item indices: a seeded `fraction` held out, or none where too few items."""
    k = math.floor(n_items * fraction)
    if k < MIN_HOLDOUT or n_items - k < MIN_TRAIN:
        return list(range(n_items)), []
    held = set(random.Random(f"holdout:{seed}").sample(range(n_items), k))
    return [i for i in range(n_items) if i not in held], sorted(held)


@dataclass
class EarlyStop:
    """The held-out evaluations of one run, and the best weights seen."""

    holdout: list[int]
    every: int  # steps between evaluations
    patience: int  # evaluations without improvement before stopping
    batch_size: int
    metric: HeldoutMetric | None = None  # None: the held-out loss
    history: list[tuple[int, float]] = field(default_factory=list)  # (step, held-out value)
    best_step: int = 0
    best_value: float | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    stopped_at: int | None = None  # the step training stopped at; None = it ran every step

    @property
    def measure(self) -> str:
        return LOSS if self.metric is None else self.metric.name

    def due(self, step: int, total: int) -> bool:
        return step % self.every == 0 or step == total

    def evaluate(self, model: Any, loss_fn: LossFn, bf16: bool) -> float:
        """The held-out value now: the metric's pass rate, or the mean per-item loss."""
        import torch

        model.eval()
        try:
            with torch.no_grad():
                if self.metric is not None:  # it answers in the eval's precision, not the training's
                    return float(self.metric.score(model, list(self.holdout)))
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    return self._heldout_loss(model, loss_fn)
        finally:
            model.train()

    def _heldout_loss(self, model: Any, loss_fn: LossFn) -> float:
        total = weight = 0.0
        for start in range(0, len(self.holdout), self.batch_size):
            batch = self.holdout[start : start + self.batch_size]
            loss, _ = loss_fn(model, batch)
            total += float(loss) * len(batch)
            weight += len(batch)
        return total / weight

    def _better(self, value: float) -> bool:
        if self.best_value is None:
            return True
        return value < self.best_value if self.metric is None else value > self.best_value

    def observe(self, step: int, value: float, params: dict[str, Any]) -> bool:
        """Record an evaluation; True when training should stop now. A NaN value (no held-out item
        could be scored) is recorded and neither improves nor counts against the patience: a run
        that never gets a value trains like one without early stopping."""
        self.history.append((step, value))
        if math.isnan(value):
            return False
        if self._better(value):
            self.best_step, self.best_value = step, value
            self.best_params = {n: p.detach().clone() for n, p in params.items()}
            if self.metric is not None and value >= 1.0:  # every held-out item passes: nothing left to gain
                self.stopped_at = step
                return True
            return False
        evaluations_since_best = sum(1 for s, v in self.history if s > self.best_step and not math.isnan(v))
        if evaluations_since_best >= self.patience:
            self.stopped_at = step
            return True
        return False

    def restore_best(self, params: dict[str, Any]) -> None:
        """Put the best evaluation's weights back into the trained parameters."""
        import torch

        if not self.best_params:
            return
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(self.best_params[n])

    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(tensors, JSON state) for a checkpoint."""
        tensors = {f"best.{n}": t for n, t in self.best_params.items()}
        return tensors, {"history": self.history, "best_step": self.best_step, "best_value": self.best_value}

    def load(self, tensors: dict[str, Any], state: dict[str, Any]) -> None:
        self.history = [tuple(h) for h in state["history"]]  # type: ignore[misc]
        self.best_step, self.best_value = state["best_step"], state["best_value"]
        self.best_params = {k[len("best."):]: v for k, v in tensors.items() if k.startswith("best.")}

    def record(self) -> dict[str, Any]:
        """What training.json and the report show."""
        return {"measure": self.measure, "holdout_items": len(self.holdout), "every": self.every,
                "patience": self.patience, "heldout": [{"step": s, "value": None if math.isnan(v) else v} for s, v in self.history],
                "best_step": self.best_step, "stopped_at": self.stopped_at}


def plan_early_stop(n_items: int, batch_size: int, patience: int, fraction: float, every: int,
                    seed: int, metric: HeldoutMetric | None = None) -> tuple[list[int], EarlyStop | None]:
    """(training item indices, the early stop or None when it is off or the data too small)."""
    if patience <= 0:
        return list(range(n_items)), None
    train, held = split_holdout(n_items, fraction, seed)
    if not held:
        return train, None
    steps_per_epoch = math.ceil(len(train) / batch_size)
    return train, EarlyStop(held, every or max(1, steps_per_epoch // 2), patience, batch_size, metric)
