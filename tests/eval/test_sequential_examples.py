"""On the shipped examples, sequential evaluation recommends what exhaustive evaluation does.

The answers are the real model's, recorded by an exhaustive climb of each example
(`bench/sequential.py ... --record`, the command is in each file): every rung answered every eval
row. Replaying them through both kinds of climb tests the stopping rules on real outcomes without
asking the model again; the task's own checks score them. On balance-shift and ticket-routing a
rung meets the target, so the rungs that pause after their first look are never finished;
romeo-bob's 30 rows are too few to split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ladder.climb import climb
from ladder.events import Status
from ladder.report.summary import summarize
from ladder.rungs.prompt import ChatPrompt
from ladder.task import load_task
from ladder.tracking.store import Store
from ladder.types import Candidate

from .test_sequential import NoModel

ROOT = Path(__file__).resolve().parents[2]


class Replay:
    """A rung answering what the real model answered under it."""

    def __init__(self, name: str, kind: str, answers: dict[str, str]):
        self.name, self.kind, self.answers = name, kind, answers

    def prepare(self, ctx, options):
        return Candidate(rung=self.name, kind=self.kind, prompt=ChatPrompt(), answers=self.answers)


def _kind(name: str) -> str:
    if name == "random_baseline":
        return "baseline"
    return "finetune" if name.startswith(("lora", "dpo", "cpt")) else "prompt"


def _replayed_climbs(tmp_path: Path, example: str, all_rungs: bool = False
                     ) -> tuple[Any, dict[str, str], dict[str, dict[str, int]], list[str]]:
    """The task, each kind of climb's recommendation, the rows each rung was scored on, and the
    status lines of the sequential climb.
    `all_rungs` (`ladder climb --all`): a replayed rung has no build cost, so once a rung meets
    the target the climb's estimate of which fine-tunes could still cost less is not the real
    climb's; climbing every rung keeps both replays on the rungs the recording has."""
    task = load_task(ROOT / "examples" / example / "task.yaml")
    recorded = json.loads((ROOT / "tests" / "fixtures" / f"{example}-answers.json").read_text())["answers"]
    order = list(task.spec.rungs)  # the climb's order; a rung's rows ("name(variant)") side by side
    names = sorted(recorded, key=lambda name: order.index(name.split("(")[0]))
    rungs = [(Replay(name, _kind(name), recorded[name]), None) for name in names]
    store = Store(tmp_path / "runs")
    statuses: list[str] = []
    runs = {label: climb(task, store, NoModel(), rungs=rungs, exhaustive=label == "exhaustive", all_rungs=all_rungs,
                         on_event=lambda e: statuses.append(e.message) if isinstance(e, Status) else None)
            for label in ("sequential", "exhaustive")}
    summaries = {label: summarize(store, run.run_id) for label, run in runs.items()}
    advice = {label: s["recommendation"]["rung"] for label, s in summaries.items()}
    rows = {label: {r["rung"]: r["n"] for r in s["rungs"]} for label, s in summaries.items()}
    assert rows["exhaustive"] == dict.fromkeys(recorded, len(task.eval))
    return task, advice, rows, statuses


def test_balance_shift_gets_the_same_recommendation_from_fewer_rows(tmp_path: Path) -> None:
    task, advice, rows, _ = _replayed_climbs(tmp_path, "balance-shift")
    assert set(rows["exhaustive"]) == set(task.spec.rungs)  # recorded from the task as it stands
    assert advice["sequential"] == advice["exhaustive"] == "lora_sft"
    # the prompt rungs cannot reach 90% form: each paused after its first look
    assert rows["sequential"] == {"zero_shot": 13, "instructed": 13, "few_shot": 13, "lora_sft": len(task.eval)}


def test_ticket_routing_gets_the_same_recommendation_from_fewer_rows(tmp_path: Path) -> None:
    task, advice, rows, _ = _replayed_climbs(tmp_path, "ticket-routing", all_rungs=True)  # as its README climbs
    assert {name.split("(")[0] for name in rows["exhaustive"]} == set(task.spec.rungs)
    assert advice["sequential"] == advice["exhaustive"] == "lora_sft_short_instructions"  # 90.0%: the target
    first_look = 15  # a quarter of 60 rows
    paused = {"zero_shot", "instructed", "few_shot", "few_shot_bootstrap", "prompt_opt", "lora_sft_label_noise",
              "lora_sft_wrong_demos(no_demos)", "dpo"}
    assert {name for name, n in rows["sequential"].items() if n == first_look} == paused
    # the baseline is scored whole; the fine-tunes that could still meet the target, on every row
    assert all(n == len(task.eval) for name, n in rows["sequential"].items() if name not in paused)


def test_romeo_bob_is_scored_in_one_look_and_advised_as_exhaustively(tmp_path: Path) -> None:
    # 30 rows, fewer than two looks' worth: every rung is asked whole, in one batch, as with
    # --exhaustive (no rung comes near knowledge >= 80%; split 10 + 20, each would have paused
    # and then been finished, for nothing but a second batch each)
    task, advice, rows, statuses = _replayed_climbs(tmp_path, "romeo-bob")
    assert {name.split("(")[0] for name in rows["exhaustive"]} == set(task.spec.rungs)
    assert advice["sequential"] == advice["exhaustive"] == "cpt"
    assert rows["sequential"] == rows["exhaustive"] == dict.fromkeys(rows["exhaustive"], len(task.eval))
    assert not [line for line in statuses if line.startswith(("stopped after", "no rung met the target"))]
