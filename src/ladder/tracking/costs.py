"""Cost arithmetic: plain functions, unit-tested, used by the climb and the report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from ladder.task.spec import PriceSpec


def request_cost(prompt_tokens: float, completion_tokens: float,
                 input_per_1k: float, output_per_1k: float) -> float:
    """Money for one request with these (mean) token counts."""
    return prompt_tokens / 1000 * input_per_1k + completion_tokens / 1000 * output_per_1k


def cost_per_1k_requests(prompt_tokens: float, completion_tokens: float,
                         input_per_1k: float, output_per_1k: float) -> float:
    return 1000 * request_cost(prompt_tokens, completion_tokens, input_per_1k, output_per_1k)


def training_cost(train_seconds: float, train_per_hour: float) -> float:
    """Build cost of a fine-tune: wall-clock hours x price per hour."""
    return train_seconds / 3600 * train_per_hour


def serving_prices(prices: PriceSpec, finetuned: bool) -> tuple[float, float]:
    """(input, output) price per 1K tokens of serving one rung: a fine-tuned model's own prices
    where the task gives them (hosted fine-tunes are usually dearer than their base), else the base's."""
    if not finetuned:
        return prices.input_per_1k, prices.output_per_1k
    return (prices.input_per_1k if prices.finetuned_input_per_1k is None else prices.finetuned_input_per_1k,
            prices.output_per_1k if prices.finetuned_output_per_1k is None else prices.finetuned_output_per_1k)


def rung_request_cost(prompt_tokens: float, completion_tokens: float, prices: PriceSpec, finetuned: bool) -> float:
    """Money for one request to a rung, input and output tokens priced at that rung's serving prices."""
    return request_cost(prompt_tokens, completion_tokens, *serving_prices(prices, finetuned))


def price_factor(candidate: Mapping[str, Any]) -> float:
    """What share of the listed token prices a recorded rung's requests cost: 1 - the endpoint's
    batch discount for a rung answered through a Batch API (recorded by the climb), else 1."""
    if candidate.get("execution") != "batch":
        return 1.0
    return 1.0 - float(candidate.get("batch_discount") or 0.0)


def break_even_requests(build_a: float, per_request_a: float, build_b: float, per_request_b: float) -> float | None:
    """Requests after which rung b, the dearer build, has cost less in total than rung a.

    Total cost after N requests is build + N x per-request cost, so the two meet at
    N = (build_b - build_a) / (per_request_a - per_request_b). With per-request costs from
    `rung_request_cost`, input and output tokens are both priced, each at its rung's prices.
    Worked example: 0.492075 yen to train, 190 input tokens saved per request at 0.0000045 yen
    per token: N = 0.492075 / (190 x 0.0000045) = 575.5 requests.

    a must be the cheaper (or equal) build. None when b never catches up (it costs as much or
    more per request than a and more to build, or more per request at an equal build).
    """
    extra_build = build_b - build_a
    saving = per_request_a - per_request_b
    if extra_build < 0:
        raise ValueError(f"rung a must be the cheaper build: {build_a} > {build_b}")
    if saving > 0:
        return extra_build / saving
    return 0.0 if extra_build == 0 and saving == 0 else None
