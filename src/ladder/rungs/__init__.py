"""The rungs, cheapest first. A rung's prepare() returns a new Candidate and mutates nothing."""

from __future__ import annotations

from ladder.rungs.base import Rung, RungContext, RungOptionsError, parse_options
from ladder.rungs.few_shot import FewShot
from ladder.rungs.instructed import Instructed
from ladder.rungs.lora_sft import LoraSFT
from ladder.rungs.zero_shot import ZeroShot

REGISTRY: list[Rung] = [ZeroShot(), Instructed(), FewShot(), LoraSFT()]
BY_NAME: dict[str, Rung] = {r.name: r for r in REGISTRY}

__all__ = ["REGISTRY", "BY_NAME", "Rung", "RungContext", "RungOptionsError", "parse_options"]
