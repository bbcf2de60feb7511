"""On a shipped example, sequential evaluation recommends what exhaustive evaluation does.

The answers are the real model's, recorded by an exhaustive climb of examples/balance-shift
(`bench/sequential.py ... --record`, the command is in the file): every rung answered every eval
row. Replaying them through both kinds of climb tests the stopping rules on real outcomes without
asking the model again; the task's own checks score them."""

from __future__ import annotations

import json
from pathlib import Path

from ladder.climb import climb
from ladder.report.summary import summarize
from ladder.rungs.prompt import ChatPrompt
from ladder.task import load_task
from ladder.tracking.store import Store
from ladder.types import Candidate

from .test_sequential import NoModel

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "tests" / "fixtures" / "balance-shift-answers.json"


class Replay:
    """A rung answering what the real model answered under it."""

    def __init__(self, name: str, kind: str, answers: dict[str, str]):
        self.name, self.kind, self.answers = name, kind, answers

    def prepare(self, ctx, options):
        return Candidate(rung=self.name, kind=self.kind, prompt=ChatPrompt(), answers=self.answers)


def test_balance_shift_gets_the_same_recommendation_from_fewer_rows(tmp_path: Path) -> None:
    task = load_task(ROOT / "examples" / "balance-shift" / "task.yaml")
    recorded = json.loads(RECORDED.read_text())["answers"]
    assert set(recorded) == set(task.spec.rungs)  # recorded from the task as it stands
    rungs = [(Replay(name, "finetune" if name.startswith("lora") else "prompt", recorded[name]), None)
             for name in task.spec.rungs]
    store = Store(tmp_path / "runs")
    runs = {label: climb(task, store, NoModel(), rungs=rungs, exhaustive=label == "exhaustive")
            for label in ("sequential", "exhaustive")}
    summaries = {label: summarize(store, run.run_id) for label, run in runs.items()}
    advice = {label: s["recommendation"]["rung"] for label, s in summaries.items()}
    assert advice["sequential"] == advice["exhaustive"] == "lora_sft"
    rows = {label: {r["rung"]: r["n"] for r in s["rungs"]} for label, s in summaries.items()}
    assert rows["exhaustive"] == dict.fromkeys(task.spec.rungs, len(task.eval))
    # the prompt rungs cannot reach 90% form: each paused after its first look
    assert rows["sequential"] == {"zero_shot": 13, "instructed": 13, "few_shot": 13, "lora_sft": len(task.eval)}
