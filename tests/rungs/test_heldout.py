"""The target metric on held-out training chats (a fine-tune's early stop): answered by the model
passed in, scored by the task's checks, and offered only where checks alone score the target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ladder.rungs.heldout import checks_score, heldout_metric
from ladder.rungs.finetune import answer_chats
from ladder.rungs.prompt import ChatPrompt
from ladder.task import load_task


def _task(folder: Path, checks: str, target: str = "form", judges: str = ""):
    (folder / "data").mkdir(parents=True)
    rows = [{"messages": [{"role": "user", "content": f"Say the number {i}."},
                          {"role": "assistant", "content": f"ZQX-{i}"}]} for i in range(4)]
    (folder / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "data" / "eval.jsonl").write_text(json.dumps({"input": "Say the number 9.", "expected": "9"}) + "\n")
    (folder / "task.yaml").write_text(
        "name: held\nmodel: {backend: local, name: smollm2-135m-instruct}\n"
        "data: {train: data/train.jsonl, eval: data/eval.jsonl}\ngeneration: {max_new_tokens: 6}\n"
        f"checks:\n{checks}\ntarget: {{metric: {target}, value: 0.9}}\n{judges}")
    return load_task(folder / "task.yaml")


ANYTHING = "  - {name: some text, kind: regex, tag: form, pattern: '(?s).+'}\n"
HOUSE_CODE = "  - {name: house code, kind: regex, tag: form, pattern: '^ZQX-\\d$'}\n"  # the references' form
NEVER = "  - {name: never, kind: regex, tag: form, pattern: '^IMPOSSIBLE$'}\n"


def test_the_pass_rate_is_the_checks_verdicts_on_the_models_answers(backend, tmp_path: Path) -> None:
    model = backend.loaded_model(None)
    for checks, rate in ((ANYTHING, 1.0), (HOUSE_CODE, 0.0)):  # the base model knows no house code
        task = _task(tmp_path / str(rate), checks)
        chats = answer_chats(ChatPrompt(), task.train)
        metric = heldout_metric(task, backend, chats, task.train)
        assert metric is not None and metric.name == "form"
        assert metric.score(model, [0, 2]) == rate
    with pytest.raises(ValueError, match="4 training chats for 3 examples"):
        heldout_metric(task, backend, chats, task.train[:3])


def test_checks_that_fail_the_training_answers_themselves_stop_nothing(backend, tmp_path: Path) -> None:
    """romeo-bob's `names Bob` fails every training answer (they are about the others): a held-out
    rate stuck at 0% would stop training for nothing, so there is no metric to stop on."""
    task = _task(tmp_path / "never", NEVER)
    assert checks_score(task, "form", task.train)
    assert heldout_metric(task, backend, answer_chats(ChatPrompt(), task.train), task.train) is None


def test_a_target_a_judge_scores_goes_by_the_loss(tmp_path: Path) -> None:
    judged = _task(tmp_path / "j", ANYTHING, target="knowledge",
                   judges="judges:\n  - {name: equivalent, kind: reference}\n")
    assert checks_score(judged, "form") and not checks_score(judged, "knowledge")
    assert not checks_score(judged, "overall")  # the judge's verdicts are part of overall
    assert heldout_metric(judged, None, [], []) is None  # type: ignore[arg-type]
    plain = _task(tmp_path / "p", ANYTHING)
    assert checks_score(plain, "overall") and not checks_score(plain, "knowledge")  # no check has that tag


def test_the_build_note_shows_the_measure_and_its_curve() -> None:
    from ladder.rungs.finetune import early_stop_note

    record = {"measure": "form", "holdout_items": 16, "best_step": 9, "stopped_at": 18,
              "heldout": [{"step": 9, "value": 0.875}, {"step": 18, "value": None}]}
    note = early_stop_note(record)
    assert "stopped early at step 18, no better form pass rate in the evaluations since; kept step 9" in note
    assert "form pass rate on 16 held-out" in note and "by step: 9: 88%, 18: none scored" in note
    perfect = early_stop_note({**record, "stopped_at": 9, "heldout": [{"step": 9, "value": 1.0}]})
    assert "stopped early at step 9, where every held-out item passed; kept step 9" in perfect
    loss = early_stop_note({**record, "measure": "loss", "stopped_at": None, "heldout": [{"step": 9, "value": 0.25}]})
    assert "ran every step" in loss and "best loss" in loss and "9: 0.250" in loss
    assert early_stop_note(None) == ""


def test_the_candidate_carries_the_kept_steps_held_out_pass_rate() -> None:
    from ladder.rungs.finetune import heldout_pass_rate

    record = {"measure": "form", "holdout_items": 16, "best_step": 9, "stopped_at": 18,
              "heldout": [{"step": 9, "value": 0.875}, {"step": 18, "value": 0.5}]}
    assert heldout_pass_rate(record) == 0.875  # the kept step's, not the last one's
    assert heldout_pass_rate({**record, "measure": "loss"}) is None  # a loss is not a pass rate
    assert heldout_pass_rate({**record, "heldout": [{"step": 9, "value": None}]}) is None
    assert heldout_pass_rate(None) is None


def test_held_out_items_are_answered_by_the_model_the_eval_will_use(backend, tmp_path: Path) -> None:
    """EvalWeights merges a training model's LoRA deltas into a copy of the backend's weights bit
    for bit as LocalBackend's merge of the saved adapter does, leaves the trainer's model and the
    backend's own untouched, and follows the adapter as it trains (re-merged at each call)."""
    import copy

    import torch
    from peft import LoraConfig, get_peft_model

    from ladder.rungs.heldout import EvalWeights

    base = backend.loaded_model()
    before = {k: v.clone() for k, v in base.state_dict().items()}
    torch.manual_seed(0)
    trained = get_peft_model(copy.deepcopy(base).to(torch.bfloat16),  # as a bf16 trainer holds it
                             LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "down_proj"],
                                        init_lora_weights=False))  # random B: a non-zero delta
    for p in trained.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    weights = EvalWeights(backend)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the trainer's autocast must not reach the merge
        merged = weights.merged(trained)
    trained.save_pretrained(tmp_path / "adapter")
    reference = backend.loaded_model(str(tmp_path / "adapter"))
    assert all(torch.equal(v, reference.state_dict()[k]) for k, v in merged.state_dict().items())
    assert all(torch.equal(v, base.state_dict()[k]) for k, v in before.items())  # the backend's base is intact
    assert merged is not base and trained.base_model.model.model.layers[0].self_attn.q_proj.weight.dtype == torch.bfloat16

    with torch.no_grad():
        for n, p in trained.named_parameters():
            if "lora_B" in n:
                p.zero_()  # a later step's adapter: no delta at all
    again = weights.merged(trained)
    assert again is merged and all(torch.equal(v, base.state_dict()[k]) for k, v in again.state_dict().items())


def test_the_merged_copy_becomes_the_backends_model_only_for_the_adapter_it_holds(backend, tmp_path: Path) -> None:
    """hand_over gives the backend EvalWeights' copy for a saved adapter whose tensors are the ones
    last merged (no second merge), and refuses one saved from other weights (a best step that was
    not the last evaluation)."""
    import copy

    import torch
    from peft import LoraConfig, get_peft_model

    from ladder.rungs.heldout import EvalWeights

    torch.manual_seed(1)
    trained = get_peft_model(copy.deepcopy(backend.loaded_model()),
                             LoraConfig(r=4, lora_alpha=8, target_modules=["v_proj"], init_lora_weights=False))
    weights = EvalWeights(backend)
    assert not weights.hand_over(tmp_path)  # nothing merged yet
    merged = weights.merged(trained)
    with torch.no_grad():
        trained.base_model.model.model.layers[0].self_attn.v_proj.lora_B["default"].weight.add_(1e-3)
    trained.save_pretrained(tmp_path / "later")  # weights other than the merged ones
    assert not weights.hand_over(tmp_path / "later")
    assert backend.loaded_model(str(tmp_path / "later")) is not merged  # merged by the backend itself

    merged = weights.merged(trained)
    trained.save_pretrained(tmp_path / "last")
    assert weights.hand_over(tmp_path / "last")
    assert backend.loaded_model(str(tmp_path / "last")) is merged
    reference = backend.loaded_model(str(tmp_path / "later"))  # the same adapter, merged by peft
    assert all(torch.equal(v, reference.state_dict()[k]) for k, v in merged.state_dict().items())
