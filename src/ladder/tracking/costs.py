"""Cost arithmetic: plain functions, unit-tested, used by the climb and the report."""

from __future__ import annotations

import math


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


def break_even_requests(build_cost: float, saved_tokens_per_request: float,
                        price_per_token: float) -> float:
    """Requests after which a fine-tune's shorter prompt has repaid its training cost.

    N = build_cost / (saved_tokens_per_request x price_per_token). Infinite when nothing is
    saved per request (the fine-tune never pays back on prompt length alone).
    """
    saving = saved_tokens_per_request * price_per_token
    if saving <= 0:
        return math.inf
    return build_cost / saving
