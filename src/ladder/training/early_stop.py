"""Early stopping on a held-out slice of the training data (never the eval split).

Most of a fixed-epoch run can buy nothing: on balance-shift the training loss was flat from
about step 8 of 40. With `early_stop_patience` > 0, the loop sets aside `holdout_fraction` of
the training items (seeded), scores their loss every `early_stop_every` steps (no gradients,
the same loss function the trainer trains with, so for SFT the answer tokens' next-token loss),
and stops once `patience` evaluations in a row have not lowered the best held-out loss. The
adapter saved is the one of the best evaluation, not the last step's. The learning-rate
schedule stays the one planned for every epoch: stopping cuts it short rather than compressing
it, so a run that never stops trains exactly like one without early stopping on the same items.

The held-out loss is a proxy for the target metric, chosen because it costs one forward pass
over a few items; whether the stop keeps eval quality is measured, not assumed (issue notes).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable

MIN_HOLDOUT = 2  # fewer held-out items than this say nothing: early stopping is then left off
MIN_TRAIN = 4  # and it never takes the training set below this

LossFn = Callable[[Any, list[int]], tuple[Any, int]]


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
    history: list[tuple[int, float]] = field(default_factory=list)  # (step, held-out loss)
    best_step: int = 0
    best_loss: float = math.inf
    best_params: dict[str, Any] = field(default_factory=dict)
    stopped_at: int | None = None  # the step training stopped at; None = it ran every step

    def due(self, step: int, total: int) -> bool:
        return step % self.every == 0 or step == total

    def heldout_loss(self, model: Any, loss_fn: LossFn, bf16: bool) -> float:
        """Mean per-item loss over the held-out items, in batches, without gradients."""
        import torch

        model.eval()
        total = weight = 0.0
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            for start in range(0, len(self.holdout), self.batch_size):
                batch = self.holdout[start : start + self.batch_size]
                loss, _ = loss_fn(model, batch)
                total += float(loss) * len(batch)
                weight += len(batch)
        model.train()
        return total / weight

    def observe(self, step: int, loss: float, params: dict[str, Any]) -> bool:
        """Record an evaluation; True when training should stop now."""
        self.history.append((step, loss))
        if loss < self.best_loss:
            self.best_step, self.best_loss = step, loss
            self.best_params = {n: p.detach().clone() for n, p in params.items()}
            return False
        evaluations_since_best = sum(1 for s, _ in self.history if s > self.best_step)
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
        return tensors, {"history": self.history, "best_step": self.best_step, "best_loss": self.best_loss}

    def load(self, tensors: dict[str, Any], state: dict[str, Any]) -> None:
        self.history = [tuple(h) for h in state["history"]]  # type: ignore[misc]
        self.best_step, self.best_loss = state["best_step"], state["best_loss"]
        self.best_params = {k[len("best."):]: v for k, v in tensors.items() if k.startswith("best.")}

    def record(self) -> dict[str, Any]:
        """What training.json and the report show."""
        return {"holdout_items": len(self.holdout), "every": self.every, "patience": self.patience,
                "heldout_losses": [{"step": s, "loss": v} for s, v in self.history],
                "best_step": self.best_step, "stopped_at": self.stopped_at}


def plan_early_stop(n_items: int, batch_size: int, patience: int, fraction: float, every: int,
                    seed: int) -> tuple[list[int], EarlyStop | None]:
    """(training item indices, the early stop or None when it is off or the data too small)."""
    if patience <= 0:
        return list(range(n_items)), None
    train, held = split_holdout(n_items, fraction, seed)
    if not held:
        return train, None
    steps_per_epoch = math.ceil(len(train) / batch_size)
    return train, EarlyStop(held, every or max(1, steps_per_epoch // 2), patience, batch_size)
