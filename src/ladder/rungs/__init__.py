"""The rungs, cheapest first. A rung's prepare() returns a new Candidate and mutates nothing."""

from __future__ import annotations

import warnings

from ladder.plugins import PluginWarning, load_plugins
from ladder.rungs.base import Rung, RungContext, RungOptionsError, Variant, expand, parse_options, unmet
from ladder.rungs.cpt import CPT
from ladder.rungs.distill import Distill
from ladder.rungs.dpo import DPO
from ladder.rungs.few_shot import FewShot
from ladder.rungs.few_shot_bootstrap import FewShotBootstrap
from ladder.rungs.few_shot_dynamic import FewShotDynamic
from ladder.rungs.instructed import Instructed
from ladder.rungs.lora_sft import LoraSFT
from ladder.rungs.lora_sft_label_noise import LoraSFTLabelNoise
from ladder.rungs.lora_sft_short_instructions import LoraSFTShortInstructions
from ladder.rungs.lora_sft_wrong_demos import LoraSFTWrongDemos
from ladder.rungs.prompt_opt import PromptOpt
from ladder.rungs.rag import Rag
from ladder.rungs.remote_sft import RemoteSFT
from ladder.rungs.random_baseline import RandomBaseline
from ladder.rungs.zero_shot import ZeroShot

REGISTRY: list[Rung] = [
    RandomBaseline(), ZeroShot(), Instructed(), FewShot(), FewShotDynamic(), Rag(),
    # prompt rungs whose build (a search: hundreds of model calls) costs more than an index
    FewShotBootstrap(), PromptOpt(),
    LoraSFT(), RemoteSFT(), LoraSFTLabelNoise(), LoraSFTShortInstructions(), LoraSFTWrongDemos(), Distill(), DPO(), CPT(),
]
BY_NAME: dict[str, Rung] = {r.name: r for r in REGISTRY}

# What a task without `rungs:` climbs: one rung per technique. The others (the fine-tuning
# ablations, distill, dpo, cpt, dynamic few-shot, ...) answer narrower questions and climb only
# when task.yaml or --rungs names them. The searches (few_shot_bootstrap, prompt_opt) spend a
# build budget of model calls, so a user opts in to them by naming them. A rung whose prerequisites the task lacks is skipped
# with its reason (Rung.requires).
MAIN_LADDER: tuple[str, ...] = ("random_baseline", "zero_shot", "instructed", "few_shot", "rag", "lora_sft")


def registered() -> list[Rung]:
    """Every rung: the built-ins (REGISTRY, cheapest first), then those of installed plugins
    (entry point group `ladder.rungs`: a rung class or instance), loaded on the first call."""
    plugins: list[Rung] = []
    for entry, obj in load_plugins("ladder.rungs").items():
        rung = obj() if isinstance(obj, type) else obj
        name = getattr(rung, "name", None)
        if name in BY_NAME or not callable(getattr(rung, "prepare", None)):
            why = f"its name {name!r} is a built-in rung's" if name in BY_NAME else "it is not a rung (no prepare)"
            warnings.warn(f"ladder plugin {entry!r} (ladder.rungs) is left out: {why}", PluginWarning, stacklevel=2)
            continue
        plugins.append(rung)
    return REGISTRY + plugins


def by_name() -> dict[str, Rung]:
    """registered(), by rung name."""
    return {r.name: r for r in registered()}


__all__ = ["REGISTRY", "BY_NAME", "MAIN_LADDER", "registered", "by_name", "unmet", "Rung", "RungContext",
           "RungOptionsError", "Variant", "expand", "parse_options"]
