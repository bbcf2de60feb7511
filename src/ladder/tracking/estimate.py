"""What a fine-tune would cost at the task's volume, estimated before it is trained.

The climb stops early only when no untried rung could be cheaper at `volume` than the cheapest
rung that met the target (climb.py). For a fine-tune that means a figure before any training:

    build   = training tokens x epochs / training throughput (tokens/s) / 3600 x train_per_hour
    serving = (prompt tokens x input price + completion tokens x output price) per request,
              at the fine-tuned serving prices where the task gives them
    cost at volume = build + serving x volume

Every part errs low, so that a rung is skipped only when even a fast, short fine-tune would not
pay: the throughput is the fastest one an earlier adapter recorded (or DEFAULT_TRAIN_TOKENS_PER_S),
the prompt is the zero-shot one (the shortest any fine-tune rung answers under), and work some
rungs add before training (teacher calls, retrieval, preference pairs) is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ladder.tracking.costs import rung_request_cost, training_cost
from ladder.training.loop import load_train_result

if TYPE_CHECKING:
    from ladder.task.spec import PriceSpec

# Used when no earlier adapter recorded a throughput. Deliberately fast: about 3x what
# BENCHMARKS.md measured for LoRA SFT of the 135M model on a CPU (~360 tokens/s, bf16), so that
# without a measurement the build cost errs low and a fine-tune that might pay is tried.
DEFAULT_TRAIN_TOKENS_PER_S = 1000.0


@dataclass(frozen=True)
class CostEstimate:
    """A rung's cost to build and to serve `volume` requests."""

    build_money: float
    per_request: float
    volume: int

    @property
    def cost_at_volume(self) -> float:
        return self.build_money + self.per_request * self.volume


@dataclass(frozen=True)
class FinetuneEstimate(CostEstimate):
    """A fine-tune's CostEstimate, with the figures it was computed from."""

    train_tokens: int = 0  # one epoch
    epochs: int = 1
    tokens_per_s: float = DEFAULT_TRAIN_TOKENS_PER_S
    throughput_measured: bool = False  # False: DEFAULT_TRAIN_TOKENS_PER_S

    @property
    def train_seconds(self) -> float:
        return self.train_tokens * self.epochs / self.tokens_per_s


def measured_train_throughput(adapters_dir: Path) -> float | None:
    """The fastest training throughput (tokens/s) recorded by a finished adapter in `adapters_dir`
    (its training.json); None when there is none."""
    if not Path(adapters_dir).is_dir():
        return None
    rates = [r.tokens_per_s for d in sorted(Path(adapters_dir).iterdir())
             if d.is_dir() and (r := load_train_result(d)) is not None and r.tokens_per_s > 0]
    return max(rates, default=None)


def estimate_finetune(train_tokens: int, epochs: int, tokens_per_s: float | None, prompt_tokens: float,
                      completion_tokens: float, prices: PriceSpec, volume: int) -> FinetuneEstimate:
    """A fine-tune's cost at `volume` before training it: `train_tokens` per epoch at `tokens_per_s`
    (None: DEFAULT_TRAIN_TOKENS_PER_S) priced at `prices.train_per_hour`, then each request's
    `prompt_tokens` and `completion_tokens` at the fine-tuned serving prices."""
    if epochs <= 0 or train_tokens < 0:
        raise ValueError(f"a fine-tune needs epochs > 0 and train_tokens >= 0 (got {epochs}, {train_tokens})")
    rate = DEFAULT_TRAIN_TOKENS_PER_S if tokens_per_s is None else tokens_per_s
    if rate <= 0:
        raise ValueError(f"tokens_per_s must be > 0 (got {rate})")
    return FinetuneEstimate(
        build_money=training_cost(train_tokens * epochs / rate, prices.train_per_hour),
        per_request=rung_request_cost(prompt_tokens, completion_tokens, prices, finetuned=True),
        volume=volume, train_tokens=train_tokens, epochs=epochs, tokens_per_s=rate,
        throughput_measured=tokens_per_s is not None,
    )
