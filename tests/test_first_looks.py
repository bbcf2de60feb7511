"""The first looks of a run of prompt rungs go to the model in one call, and change nothing else.

The model's answers are the real model's, recorded by an exhaustive climb of examples/balance-shift
(tests/fixtures/balance-shift-answers.json, its command inside): a replaying backend hands each
prompt its recorded answer, so the test sees every call the climb makes without running the
model. That one batch of several prompts answers as each prompt alone is
tests/backends/test_batching.py's test, on the real model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ladder.climb import climb
from ladder.report.summary import summarize
from ladder.rungs import by_name
from ladder.rungs.base import RungContext
from ladder.task import load_task
from ladder.tracking.store import Store
from ladder.types import Candidate, Generation, chat_to_json

from .eval.test_sequential_examples import Replay

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "tests" / "fixtures" / "balance-shift-answers.json"
LATENCY = 0.25  # seconds each replayed answer says it took


class Recorded:
    """The real model's recorded answers, by prompt; each call's size is logged."""

    name = "recorded"

    def __init__(self, answers: dict[str, str]):
        self.answers, self.calls = answers, []

    def fingerprint(self, adapter=None):
        return "recorded"

    def count_tokens(self, chat):
        return 1

    def generate(self, chats, params, adapter=None, on_progress=None):
        self.calls.append(len(chats))
        return [Generation(self.answers[chat_to_json(c)], 1, 1, LATENCY) for c in chats]


def setup(tmp_path: Path, **spec):
    task = load_task(ROOT / "examples" / "balance-shift" / "task.yaml")
    if spec:
        task = replace(task, spec=task.spec.model_copy(update={
            k: getattr(task.spec, k).model_copy(update=v) for k, v in spec.items()}))
    recorded = json.loads(RECORDED.read_text())["answers"]
    known = by_name()
    prompt_rungs = [(known[name], known[name].Options(**(task.spec.rungs[name] or {})))
                    for name in ("zero_shot", "instructed", "few_shot")]
    answers = {}
    for rung, options in prompt_rungs:
        candidate: Candidate = rung.prepare(RungContext(task, None, tmp_path), options)  # type: ignore[arg-type]
        answers.update({chat_to_json(candidate.prompt.render(ex)): recorded[rung.name][ex.id] for ex in task.eval})
    rungs = [*prompt_rungs, (Replay("lora_sft", "finetune", recorded["lora_sft"]), None)]
    return task, rungs, Recorded(answers)


def test_prompt_rungs_first_looks_go_in_one_call_and_score_as_before(tmp_path: Path) -> None:
    task, rungs, model = setup(tmp_path)
    store = Store(tmp_path / "runs")
    run = climb(task, store, model, rungs=rungs)
    assert model.calls == [39]  # 13 rows of each prompt rung (a quarter of 50), together; each then paused
    summary = summarize(store, run.run_id)
    rows = {r["rung"]: r for r in summary["rungs"]}
    assert {name: r["n"] for name, r in rows.items()} == {"zero_shot": 13, "instructed": 13, "few_shot": 13,
                                                         "lora_sft": 50}
    assert summary["recommendation"]["rung"] == "lora_sft"
    for name in ("zero_shot", "instructed", "few_shot"):
        # fresh answers, not cache hits; the rung's eval time is its rows' share of the batch
        assert rows[name]["cached_share"] == 0.0
        assert abs(rows[name]["eval_seconds"] - 13 * LATENCY) < 0.5
    assert (run.cache_hits, run.cache_misses) == (0, 39)

    again = climb(task, store, model, rungs=rungs)  # all from the cache: nothing asked ahead
    assert model.calls == [39] and again.cache_hits == 39


def test_exhaustive_asks_each_rung_whole_and_alone(tmp_path: Path) -> None:
    task, rungs, model = setup(tmp_path)
    climb(task, Store(tmp_path / "runs"), model, rungs=rungs, exhaustive=True)
    assert model.calls == [50, 50, 50]


def test_only_as_many_rungs_as_their_first_looks_fill_one_batch(tmp_path: Path) -> None:
    task, rungs, model = setup(tmp_path, generation={"batch_size": 26})
    climb(task, Store(tmp_path / "runs"), model, rungs=rungs)
    assert model.calls == [26, 13]  # zero_shot and instructed together, few_shot alone


def test_a_first_look_of_every_row_is_not_asked_ahead(tmp_path: Path) -> None:
    # under a 1% target 0 of 13 rows could not pause a rung: its first look is all 50 rows, a
    # batch of its own, and asking the next rungs' ahead would only risk asking them for nothing
    task, rungs, model = setup(tmp_path, target={"value": 0.01})
    climb(task, Store(tmp_path / "runs"), model, rungs=rungs)
    assert model.calls == [50, 50, 50]  # few_shot (2 of 50) met the target: nothing after it
