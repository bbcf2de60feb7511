"""How a remote call survives faults: which answers are retried, how long to wait, how many
requests one endpoint gets at once.

- Retried: HTTP 408, 409, 429 and 5xx, connection errors and timeouts. A server's
  `x-should-retry: true|false` header overrides the status (OpenAI sends it).
- The wait before a retry: the server's `retry-after-ms`, else its `Retry-After` (seconds or an
  HTTP date), else exponential backoff with full jitter (uniform in [0, min(cap, base * 2^n)]),
  so that many clients refused at once do not come back at once.
- Each attempt has a timeout; each call a deadline on the time it spends in its attempts and
  waits (not the time it queues behind the endpoint's limit). A wait that would end past the
  deadline is not taken: the call ends in error there.
- `AdaptiveLimit`: requests in flight per endpoint, between 1 and the configured concurrency;
  halved on a 429 (once per round of requests: the 429s of requests sent before the last cut
  do not cut again), then raised by one per `limit` successful requests (additive increase).

The random source of the jitter is passed in (`random.Random`), so a test can seed it without
touching global state.
"""

from __future__ import annotations

import math
import random
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Mapping

from pydantic import BaseModel, ConfigDict, Field

RETRY_STATUS = frozenset({408, 409, 429})


class RetrySettings(BaseModel):
    """task.yaml `model.retry:` (backend: openai): how each remote call is retried and bounded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(6, gt=0, description="attempts per call, the first included")
    timeout_s: float = Field(60.0, gt=0, description="seconds one attempt may take before it is abandoned and retried")
    deadline_s: float = Field(
        300.0, gt=0, description="seconds one call may spend in all, its attempts and waits together (not the time "
                                 "it queues behind `concurrency`); then it is an error")
    backoff_s: float = Field(0.5, gt=0, description="base of the exponential backoff (seconds) when the server "
                                                    "gives no Retry-After")
    backoff_max_s: float = Field(30.0, gt=0, description="cap of one backoff wait (seconds); a server's Retry-After "
                                                         "is honoured up to the deadline")


def should_retry(status: int | None, headers: Mapping[str, str] | None = None) -> bool:
    """Whether an answer with this status (None: no answer, a connection error or timeout) is retried."""
    hint = (headers or {}).get("x-should-retry", "").strip().lower()
    if hint in ("true", "false"):
        return hint == "true"
    return status is None or status in RETRY_STATUS or status >= 500


def server_wait(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, else `Retry-After` in seconds or as
    an HTTP date); None when it did not say or said something unreadable. `now`: epoch seconds."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000
            if math.isfinite(value):
                return max(0.0, value)
        except ValueError:
            pass
    after = headers.get("retry-after")
    if after is None:
        return None
    try:
        value = float(after)
        return max(0.0, value) if math.isfinite(value) else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(after)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff(attempt: int, settings: RetrySettings, rng: random.Random) -> float:
    """Full-jitter exponential backoff before retry number `attempt` (0 = the first retry)."""
    return rng.uniform(0.0, min(settings.backoff_max_s, settings.backoff_s * 2 ** min(attempt, 30)))


class AdaptiveLimit:
    """Requests in flight to one endpoint: at most `limit` (1..maximum), halved on a 429 and
    raised again slowly (see the module docstring). Thread-safe."""

    def __init__(self, maximum: int):
        self.maximum = max(1, maximum)
        self.limit = float(self.maximum)
        self.in_flight = 0
        self.cuts = 0  # how many times the limit was halved
        self._round = 0  # bumped at each cut: a 429 from an older round does not cut again
        self._cond = threading.Condition()

    def acquire(self) -> int:
        """Wait for a free slot; returns the round the request is sent in (for `release`)."""
        with self._cond:
            while self.in_flight >= int(self.limit):
                self._cond.wait()
            self.in_flight += 1
            return self._round

    def release(self, sent_in: int, *, rate_limited: bool) -> None:
        with self._cond:
            self.in_flight -= 1
            if rate_limited:
                if sent_in == self._round:
                    self.limit = max(1.0, self.limit / 2)
                    self._round += 1
                    self.cuts += 1
            else:
                self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            self._cond.notify_all()
