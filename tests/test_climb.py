"""The climb's own decisions, on a model served by a real chat-completions server on
127.0.0.1: a fine-tune is skipped once the build money spent by the rungs before it reaches
`budget.money`, and only then."""

from __future__ import annotations

from pathlib import Path

import pytest

from ladder.climb import climb, select_rungs
from ladder.task import load_task
from ladder.tracking.store import Store


@pytest.fixture()
def remote_task(tiny_task: Path, chat_servers) -> Path:
    """The tiny task answered by a server that always says the first line of the house format
    (so no demonstration passes its check and nothing ends the climb early)."""
    url = chat_servers.start(lambda body, _h: (200, chat_servers.completion(
        "Balance analysis:", prompt_tokens=200, completion_tokens=5), {}))
    text = tiny_task.read_text().replace(
        "  backend: local\n  name: smollm2-135m-instruct\n", f"  backend: openai\n  name: stub-alias\n  base_url: {url}\n")
    assert "backend: openai" in text
    tiny_task.write_text(text)
    return tiny_task


def _climb_with_budget(task_path: Path, money: float, tmp_path: Path) -> dict[str, tuple[str, float, str]]:
    text = task_path.read_text()
    task_path.write_text(text.replace("volume: 100000", f"volume: 100000\nbudget: {{money: {money}}}"))
    task = load_task(task_path)
    store = Store(tmp_path / f"runs-{money}")
    result = climb(task, store, rungs=select_rungs(task, ["few_shot_bootstrap", "lora_sft"]), all_rungs=True)
    return {r.rung: (r.status, r.build_money, (r.candidate or {}).get("description", ""))
            for r in store.rung_results(result.run_id)}


def test_a_finetune_is_skipped_once_the_budget_is_spent(remote_task, tmp_path):
    rows = _climb_with_budget(remote_task, 1e-6, tmp_path)
    status, money, _ = rows["few_shot_bootstrap"]
    assert status == "ok" and money > 1e-6  # its race asked the model, at the task's prices
    assert rows["lora_sft"][0] == "skipped" and rows["lora_sft"][2] == "budget of 1e-06 spent"


def test_a_budget_not_yet_spent_skips_nothing(remote_task, tmp_path):
    rows = _climb_with_budget(remote_task, 1000.0, tmp_path)
    assert rows["few_shot_bootstrap"][0] == "ok" and rows["few_shot_bootstrap"][1] < 1000.0
    # the fine-tune's own prerequisite speaks instead: it trains local weights
    assert rows["lora_sft"][0] == "skipped" and "budget" not in rows["lora_sft"][2]


def test_calls_that_all_fail_are_named_with_their_server_and_how_to_ask_again(refused_task, tmp_path):
    from ladder.events import Status
    from ladder.report import summarize

    tiny_task, url = refused_task
    task = load_task(tiny_task)
    store = Store(tmp_path / "runs")
    events: list = []
    result = climb(task, store, rungs=select_rungs(task, ["zero_shot"]), on_event=events.append)
    warnings = [e.message for e in events if isinstance(e, Status) and e.rung == "zero_shot" and e.level == "warning"]
    assert len(warnings) == 1, events
    n = len(task.eval)
    assert warnings[0].startswith(f"{n} of {n} calls failed (connection: {n}), the first with ")
    assert url in warnings[0] and f"ladder climb {tiny_task} --retry-errors" in warnings[0]
    reason = summarize(store, result.run_id)["recommendation"]["reason"]
    assert reason == (f"no rung produced results to compare: {n} call(s) failed (connection: {n}); once the model "
                      f"answers, `ladder climb {tiny_task} --retry-errors` asks them again")
