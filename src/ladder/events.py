"""What a climb tells its caller while it runs: small frozen events passed to one callback.

The library reports progress only through these; whoever called it decides what to show (the
CLI draws Rich progress bars from them, cli/progress.py; a test may collect them in a list).
Nothing here imports anything else from ladder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Union


@dataclass(frozen=True)
class RungOutcome:
    rung: str
    status: Literal["ok", "failed", "skipped"]
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class RungStarted:
    rung: str
    kind: str  # prompt | finetune
    position: int  # in the climb, from 0


@dataclass(frozen=True)
class Status:
    """A line of news: a rung's step (`rung` set) or the climb's (precision measured, teacher asked)."""

    message: str
    rung: str | None = None
    level: Literal["info", "warning"] = "info"


@dataclass(frozen=True)
class TrainStep:
    rung: str
    step: int
    total: int
    loss: float


@dataclass(frozen=True)
class EvalProgress:
    rung: str
    done: int  # eval examples answered so far (0 when the eval starts)
    total: int


@dataclass(frozen=True)
class JudgeProgress:
    """A judge (tier 2) reading a rung's answers, or a pair of rungs' ("few_shot vs instructed")."""

    rung: str
    judge: str
    done: int  # verdicts given so far (0 when it starts), errors included
    total: int


@dataclass(frozen=True)
class RungSkipped:
    rung: str
    reason: str


@dataclass(frozen=True)
class RungFinished:
    outcome: RungOutcome  # status ok or failed; a skipped rung is RungSkipped
    traceback: str | None = None  # for a failure that is not a plain bad-input ValueError


ClimbEvent = Union[RungStarted, Status, TrainStep, EvalProgress, JudgeProgress, RungSkipped, RungFinished]
OnEvent = Callable[[ClimbEvent], None]


def ignore(_event: ClimbEvent) -> None:
    """The default listener: the climb runs silently."""
