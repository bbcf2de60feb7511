"""What the run store hands back and takes: a rung's record, and a generation as read back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ladder.types import Assessment


@dataclass(frozen=True)
class RungRecord:
    """One rung of a run as recorded: what was built, what it cost, how it ended."""

    run_id: str
    position: int  # order in the climb
    rung: str
    kind: str  # prompt | finetune | teacher
    candidate: Mapping[str, Any]  # Candidate.describe(), or a note for a skipped rung
    status: str = "ok"  # ok | failed | skipped
    error: str | None = None
    build_seconds: float = 0.0
    build_money: float = 0.0
    build_tokens: int = 0  # training tokens
    build_call_tokens: int = 0  # prompt + completion tokens of model calls made while building
    build_reused: bool = False
    build_notes: str | None = None  # how it was built, in words (BuildCost.notes); None: nothing to say
    eval_seconds: float = 0.0
    eval_stop: str | None = None  # why evaluation stopped before every eval row; None = it scored them all
    model: str | None = None  # the label of the model that answered; None: not recorded (the run's model)
    prices: Mapping[str, Any] | None = None  # that model's PriceSpec as dumped; None: the run's `prices:`


@dataclass(frozen=True, kw_only=True)
class RungRow(RungRecord):
    """A RungRecord read back, with its id in the store."""

    id: int


@dataclass(frozen=True)
class GenerationRow:
    id: int
    example_id: str
    input: str
    expected: str
    prompt: list[dict[str, str]]
    output: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    finish_reason: str
    cached: bool
    error: str | None
    assessments: tuple[Assessment, ...]
    response_model: str | None = None  # what the server said answered (Generation.response_model)
    system_fingerprint: str | None = None
