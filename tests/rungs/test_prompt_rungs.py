"""Prompt rungs: what each puts in the chat, and that preparing never mutates the task."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from ladder.rungs import BY_NAME, RungContext, RungOptionsError, parse_options
from ladder.task import load_task

ROOT = Path(__file__).resolve().parents[2]


class NoModel:
    """Prompt rungs must not need the model to prepare; any call here is a bug."""

    name = "none"

    def fingerprint(self, adapter=None):
        return "none"

    def generate(self, *a, **k):
        raise AssertionError("a prompt rung called the model while preparing")

    def count_tokens(self, chat):
        raise AssertionError("unexpected")


@pytest.fixture(scope="module")
def task():
    return load_task(ROOT / "examples/balance-shift/task.yaml")


def _prepare(name, task, tmp_path, **options):
    rung = BY_NAME[name]
    return rung.prepare(RungContext(task=task, backend=NoModel(), artifacts=tmp_path), parse_options(rung, options))


def test_zero_shot_is_the_input_alone(task, tmp_path):
    c = _prepare("zero_shot", task, tmp_path)
    chat = c.prompt.render(task.eval[0])
    assert [m.role for m in chat] == ["user"] and chat[0].content == task.eval[0].input
    assert c.kind == "prompt" and c.adapter is None and c.build.seconds == 0


def test_instructed_puts_instructions_in_the_system_message(task, tmp_path):
    chat = _prepare("instructed", task, tmp_path).prompt.render(task.eval[0])
    assert chat[0].role == "system" and "balance shift method" in chat[0].content
    assert chat[-1].content == task.eval[0].input


def test_few_shot_shows_k_training_demos_the_same_for_every_input(task, tmp_path):
    c = _prepare("few_shot", task, tmp_path, k=2)
    a, b = c.prompt.render(task.eval[0]), c.prompt.render(task.eval[1])
    assert [m.role for m in a] == ["user", "assistant", "user", "assistant", "user"]
    assert a[:4] == b[:4]
    train_answers = {e.expected for e in task.train}
    assert a[1].content in train_answers and a[3].content in train_answers
    # The same seed draws the same demos: a re-run builds the identical prompt (cache hits).
    assert _prepare("few_shot", task, tmp_path, k=2).prompt.render(task.eval[0]) == a


def test_preparing_does_not_mutate_the_task(task, tmp_path):
    before = copy.deepcopy((task.spec.model_dump(), task.train, task.eval))
    for name in ("zero_shot", "instructed", "few_shot"):
        _prepare(name, task, tmp_path)
    assert (task.spec.model_dump(), task.train, task.eval) == before


def test_bad_options_name_the_key_path():
    with pytest.raises(RungOptionsError, match=r"rungs\.few_shot\.k"):
        parse_options(BY_NAME["few_shot"], {"k": 0})
    with pytest.raises(RungOptionsError, match=r"rungs\.lora_sft\.epoch"):
        parse_options(BY_NAME["lora_sft"], {"epoch": 2})
