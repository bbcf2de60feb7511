"""A task without `rungs:` climbs the main ladder; a rung says what it needs (Rung.requires)."""

from __future__ import annotations

import json
from pathlib import Path

from ladder.climb import select_rungs
from ladder.rungs import BY_NAME, MAIN_LADDER, REGISTRY, parse_options, unmet
from ladder.task import load_task


def minimal_task(folder: Path, extra: str = "", train: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"input": f"q{i}", "expected": f"a{i}"} for i in range(4)]
    (folder / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = "{eval: eval.jsonl, train: train.jsonl}" if train else "{eval: eval.jsonl}"
    (folder / "task.yaml").write_text(f"data: {data}\nmodel: {{backend: local}}\n{extra}")
    return folder / "task.yaml"


def test_without_rungs_the_main_ladder_is_climbed_never_the_ablations(tmp_path: Path):
    task = load_task(minimal_task(tmp_path / "t"))
    names = [r.name for r, _ in select_rungs(task)]
    # free-form answers (a0..a3): no label set, so the random baseline is left out of the list
    assert [n.split("(")[0] for n in names] == [n for n in MAIN_LADDER if n != "random_baseline"]
    assert len(REGISTRY) > len(MAIN_LADDER)
    assert not {"lora_sft_label_noise", "lora_sft_short_instructions"} & set(names)


def test_a_minimal_task_can_run_only_zero_shot_and_says_why_for_the_rest(tmp_path: Path):
    task = load_task(minimal_task(tmp_path / "t"))
    reasons = {r.name.split("(")[0]: unmet(r, task, o) for r, o in select_rungs(task)}
    assert reasons["zero_shot"] is None
    assert "prompts.instructions" in reasons["instructed"]
    assert "data.train" in reasons["few_shot"] and "data.train" in reasons["lora_sft"]
    assert "corpus" in reasons["rag"]


def test_every_rung_can_run_once_the_task_has_what_it_needs(tmp_path: Path):
    (tmp_path / "t" / "corpus").mkdir(parents=True)
    (tmp_path / "t" / "corpus" / "a.txt").write_text("text")
    task = load_task(minimal_task(tmp_path / "t", "prompts: {instructions: Answer.}\ncorpus: corpus\n", train=True))
    # every rung but random_baseline, which needs a small label set (tests/rungs/test_random_baseline.py),
    # and remote_sft, which needs a remote model (test_fine_tuning_rungs_need_local_weights), and
    # few_shot_bootstrap, which needs k + 2 training rows: the static set and two to race on
    runnable = [r for r in REGISTRY if r.name not in ("random_baseline", "remote_sft", "few_shot_bootstrap")]
    boot = BY_NAME["few_shot_bootstrap"]
    assert unmet(boot, task, parse_options(boot, {"k": 2})) is None
    assert unmet(boot, task, parse_options(boot, None)) == "few_shot_bootstrap needs 5 training examples, the task has 4"
    assert {r.name: unmet(r, task, parse_options(r, None)) for r in runnable} == {r.name: None for r in runnable}
    # An option can raise what a rung needs: 5 demonstrations from 4 training examples.
    few = BY_NAME["few_shot"]
    assert unmet(few, task, parse_options(few, {"k": 5})) == "few_shot needs 5 training examples, the task has 4"


def test_fine_tuning_rungs_need_local_weights(tmp_path: Path):
    task = load_task(minimal_task(tmp_path / "t", train=True))
    remote = task.spec.model_copy(update={"model": task.spec.model.model_copy(update={"backend": "openai"})})
    task = type(task)(remote, task.path, task.train, task.eval)
    lora = BY_NAME["lora_sft"]
    assert "model.backend: local" in unmet(lora, task, parse_options(lora, None))
    # and the managed fine-tune the other way round: a remote model, and OpenAI's 10 examples
    remote_sft = BY_NAME["remote_sft"]
    assert unmet(remote_sft, task, parse_options(remote_sft, None)) == (
        "remote_sft needs 10 training examples, the task has 4")
    local = load_task(minimal_task(tmp_path / "local", train=True))
    assert "model.backend: openai" in unmet(remote_sft, local, parse_options(remote_sft, None))
