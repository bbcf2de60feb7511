"""lora_sft_wrong_demos: correct training targets under prompts whose demonstrations are wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ladder.rungs import BY_NAME, RungContext, expand, parse_options
from ladder.rungs.lora_sft_wrong_demos import wrong_demo_chats
from ladder.task import load_task
from ladder.types import Example

ROOT = Path(__file__).resolve().parents[2]


def _labelled(n: int) -> list[Example]:
    labels = ["billing", "delivery", "account"]
    return [Example(id=f"t{i}", input=f"message {i}", expected=labels[i % 3]) for i in range(n)]


def test_targets_are_correct_and_every_demonstration_is_wrong():
    examples = _labelled(9)
    by_input = {ex.input: ex for ex in examples}
    chats = wrong_demo_chats(examples, "You route tickets.", "Answer with the queue.", k=2, seed=0)
    assert len(chats) == len(examples)
    for example, chat in zip(examples, chats):
        assert chat[0].role == "system" and "Answer with the queue." in chat[0].content
        assert chat[-2].content == example.input and chat[-1].role == "assistant"
        assert chat[-1].content == example.expected  # the training target is the correct answer
        demo_turns = chat[1:-2]
        assert [m.role for m in demo_turns] == ["user", "assistant"] * 2
        for question, answer in zip(demo_turns[::2], demo_turns[1::2]):
            shown = by_input[question.content]
            assert shown is not example  # never the example itself
            assert answer.content != shown.expected  # a wrong output ...
            assert answer.content in {ex.expected for ex in examples}  # ... of the right form
    assert wrong_demo_chats(examples, None, "x", k=2, seed=0) == wrong_demo_chats(examples, None, "x", k=2, seed=0)
    assert wrong_demo_chats(examples, None, "x", k=2, seed=1) != wrong_demo_chats(examples, None, "x", k=2, seed=0)


def test_a_task_without_two_answers_or_enough_examples_is_refused():
    same = [Example(id=str(i), input=f"q{i}", expected="x") for i in range(4)]
    with pytest.raises(ValueError, match="same answer"):
        wrong_demo_chats(same, None, "x", k=2, seed=0)
    with pytest.raises(ValueError, match="more than 2 training examples"):
        wrong_demo_chats(_labelled(2), None, "x", k=2, seed=0)


def test_one_row_per_inference_prompt():
    rung = BY_NAME["lora_sft_wrong_demos"]
    rows = expand(rung, parse_options(rung, {"k": 3, "rank": 4}))
    assert [r.name for r, _ in rows] == ["lora_sft_wrong_demos(eval_demos)", "lora_sft_wrong_demos(no_demos)"]
    assert [(o.inference, o.k, o.rank) for _, o in rows] == [("eval_demos", 3, 4), ("no_demos", 3, 4)]


@pytest.mark.slow
def test_both_rows_share_one_adapter_and_ask_as_named(tiny_task: Path, tmp_path: Path, backend, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    task = load_task(tiny_task)
    rung = BY_NAME["lora_sft_wrong_demos"]
    ctx = RungContext(task=task, backend=backend, artifacts=tmp_path / "a")
    (with_rung, with_opts), (without_rung, without_opts) = expand(
        rung, parse_options(rung, {"k": 2, "epochs": 1, "batch_size": 4, "rank": 4}))
    with_demos = with_rung.prepare(ctx, with_opts)
    without = without_rung.prepare(ctx, without_opts)
    assert not with_demos.build.reused and without.build.reused and with_demos.adapter == without.adapter
    assert json.loads((Path(with_demos.adapter) / "training.json").read_text())["steps"] == 2
    asked = with_demos.prompt.render(task.eval[0])
    assert [m.role for m in asked] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert {m.content for m in asked[2:5:2]} <= {ex.expected for ex in task.train}  # correct at inference
    assert [m.role for m in without.prompt.render(task.eval[0])] == ["system", "user"]
