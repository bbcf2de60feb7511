"""Early stopping on held-out training items: the held-out items are never trained on, training
stops after `patience` evaluations without a better held-out value (a lower loss, or a higher
pass rate of the target metric, which stops at once when perfect), and the best weights are saved."""

from __future__ import annotations

import json
import math

import torch
from safetensors.torch import load_file

from ladder.training.args import LoraArgs, run_settings
from ladder.training.early_stop import EarlyStop, HeldoutMetric, plan_early_stop, split_holdout
from ladder.training.lora_sft import collate, next_token_loss, tokenize_for_sft
from ladder.training.loop import load_train_result, train_lora
from ladder.types import Message

CHATS = [
    (Message("user", f"Shift for A = {a} and B = {b}?"), Message("assistant", f"Shift: {(a - b) / (a + b):.3f}"))
    for a in range(10, 70, 10) for b in (3, 7, 11)
]  # 18 chats


def test_the_holdout_is_seeded_disjoint_and_left_out_when_too_small() -> None:
    train, held = split_holdout(40, 0.1, seed=0)
    assert len(held) == 4 and not set(train) & set(held) and sorted(train + held) == list(range(40))
    assert split_holdout(40, 0.1, seed=0) == (train, held)
    assert split_holdout(40, 0.1, seed=1)[1] != held
    assert split_holdout(15, 0.1, seed=0) == (list(range(15)), [])  # one held-out item says nothing
    assert plan_early_stop(40, 8, patience=0, fraction=0.1, every=0, seed=0) == (list(range(40)), None)
    items, stop = plan_early_stop(40, 8, patience=2, fraction=0.1, every=0, seed=0)
    assert len(items) == 36 and stop is not None and stop.every == 2  # 5 steps an epoch: twice per epoch


def test_it_stops_after_patience_evaluations_without_improvement_and_keeps_the_best() -> None:
    stop = EarlyStop(holdout=[0, 1], every=1, patience=2, batch_size=2)
    weights = {"w": torch.zeros(1)}
    for step, loss in enumerate([3.0, 2.0, 2.5, 1.9, 2.0], start=1):
        weights["w"].fill_(step)
        assert stop.observe(step, loss, weights) is False
    weights["w"].fill_(6)
    assert stop.observe(6, 2.2, weights) is True  # steps 5 and 6 both failed to beat step 4's 1.9
    assert (stop.best_step, stop.best_value, stop.stopped_at) == (4, 1.9, 6)
    stop.restore_best(weights)
    assert weights["w"].item() == 4
    record = stop.record()
    assert record["measure"] == "loss" and record["best_step"] == 4
    assert [h["value"] for h in record["heldout"]] == [3.0, 2.0, 2.5, 1.9, 2.0, 2.2]


def test_on_a_metric_higher_is_better_and_a_perfect_pass_rate_stops_at_once() -> None:
    metric = HeldoutMetric("form", lambda model, items: 0.0, "form:test")
    stop = EarlyStop(holdout=[0, 1], every=1, patience=3, batch_size=2, metric=metric)
    weights = {"w": torch.zeros(1)}
    for step, rate in enumerate([0.25, 0.5, 0.5, 0.25], start=1):
        weights["w"].fill_(step)
        assert stop.observe(step, rate, weights) is False  # a tie is no improvement: step 2 stays the best
    assert (stop.best_step, stop.best_value) == (2, 0.5)
    weights["w"].fill_(5)
    assert stop.observe(5, 1.0, weights) is True  # before patience runs out: 100% cannot improve
    assert (stop.best_step, stop.stopped_at) == (5, 5) and stop.record()["measure"] == "form"
    stop = EarlyStop(holdout=[0, 1], every=1, patience=2, batch_size=2, metric=metric)
    assert [stop.observe(s, r, weights) for s, r in enumerate([0.5, 0.25, 0.5], start=1)] == [False, False, True]
    assert stop.best_step == 1
    # no held-out item could be scored: recorded, but neither a best nor a strike against the patience
    stop = EarlyStop(holdout=[0, 1], every=1, patience=1, batch_size=2, metric=metric)
    assert [stop.observe(s, math.nan, weights) for s in (1, 2, 3)] == [False] * 3
    assert stop.best_params == {} and [h["value"] for h in stop.record()["heldout"]] == [None] * 3
    assert [stop.observe(4, 0.5, weights), stop.observe(5, math.nan, weights), stop.observe(6, 0.25, weights)] == [
        False, False, True]


def test_the_early_stop_settings_are_keyed_only_when_an_early_stop_runs() -> None:
    off = run_settings(LoraArgs(early_stop_patience=0), seed=0)
    assert not {"early_stop_patience", "early_stop_measure", "holdout_fraction", "early_stop_every"} & set(off)
    assert run_settings(LoraArgs(early_stop_patience=0, holdout_fraction=0.2), seed=0) == off  # decides nothing
    # on the target (the default) but with no target metric to score, as for DPO or CPT: every epoch
    assert run_settings(LoraArgs(), seed=0) == off
    loss = run_settings(LoraArgs(early_stop_measure="loss"), seed=0)
    assert loss["early_stop_patience"] == 2 and loss["early_stop_measure"] == "loss"
    form = HeldoutMetric("form", lambda model, items: 1.0, "form:abc")
    assert run_settings(LoraArgs(), seed=0, metric=form)["early_stop_measure"] == "form:abc"
    assert run_settings(LoraArgs(), seed=0, metric=form._replace(key="form:def")) != run_settings(
        LoraArgs(), seed=0, metric=form)  # other checks, another adapter


def test_training_never_sees_the_held_out_items_and_saves_the_best_weights(tiny_model, tokenizer, tmp_path) -> None:
    rows = [tokenize_for_sft(tokenizer, c, 128) for c in CHATS]
    trained, scored = set(), set()

    def loss_fn(model, idx):
        (trained if torch.is_grad_enabled() else scored).update(idx)
        batch = collate([rows[i] for i in idx], tokenizer.eos_token_id)
        return next_token_loss(model, batch), int(batch["attention_mask"].sum())

    # a learning rate far too high: the held-out loss soon stops improving, and training stops
    args = LoraArgs(rank=4, alpha=8, epochs=6, batch_size=2, learning_rate=0.5, precision="float32",
                    early_stop_patience=1, early_stop_measure="loss", holdout_fraction=0.2, early_stop_every=1)
    out = tmp_path / "adapter"
    result = train_lora(tiny_model, args, out, [len(r[0]) for r in rows], loss_fn, "data", seed=0,
                        checkpoint_every=0)
    held = set(split_holdout(len(rows), 0.2, seed=0)[1])
    assert scored == held and trained and not trained & held

    manifest = json.loads((out / "training.json").read_text())
    stop = manifest["early_stop"]
    planned = manifest["planned_steps"]
    assert planned == 6 * math.ceil((len(rows) - len(held)) / 2)
    assert result.planned_steps == planned == load_train_result(out).planned_steps
    assert stop["stopped_at"] is not None and result.steps == stop["stopped_at"] < planned
    assert len(result.losses) == result.steps == manifest["steps"]
    curve = [h["value"] for h in stop["heldout"]]
    assert len(curve) == result.steps and min(curve) == curve[stop["best_step"] - 1]

    # the saved adapter is the best evaluation's: its held-out loss is the curve's minimum
    from peft import PeftModel

    from .tiny import tiny_llama

    best = PeftModel.from_pretrained(tiny_llama(seed=0), str(out)).eval()
    with torch.no_grad():
        held_rows = sorted(held)
        losses = [next_token_loss(best, collate([rows[i] for i in held_rows[k:k + 2]], tokenizer.eos_token_id))
                  for k in range(0, len(held_rows), 2)]
    sizes = [len(held_rows[k:k + 2]) for k in range(0, len(held_rows), 2)]
    mean = sum(float(loss) * n for loss, n in zip(losses, sizes)) / sum(sizes)
    assert abs(mean - min(curve)) < 1e-4
    assert all(torch.count_nonzero(t) > 0 for n, t in load_file(out / "adapter_model.safetensors").items()
               if "lora_B" in n)


def test_a_metric_early_stop_scores_the_held_out_items_in_eval_mode_and_stops_on_it(tiny_model, tokenizer,
                                                                                    tmp_path) -> None:
    rows = [tokenize_for_sft(tokenizer, c, 128) for c in CHATS]
    calls: list[tuple[list[int], bool, bool]] = []
    rates = iter([0.25, 0.5, 0.5, 0.5, 0.75])

    def score(model, items):
        calls.append((items, model.training, torch.is_grad_enabled()))
        return next(rates)

    def loss_fn(model, idx):
        batch = collate([rows[i] for i in idx], tokenizer.eos_token_id)
        return next_token_loss(model, batch), int(batch["attention_mask"].sum())

    args = LoraArgs(rank=4, alpha=8, epochs=4, batch_size=2, learning_rate=0.01, precision="float32",
                    early_stop_patience=2, holdout_fraction=0.2, early_stop_every=2)
    result = train_lora(tiny_model, args, tmp_path / "adapter", [len(r[0]) for r in rows], loss_fn, "data", seed=0,
                        checkpoint_every=0, heldout_metric=HeldoutMetric("form", score, "form:test"))
    held = split_holdout(len(rows), 0.2, seed=0)[1]
    assert [c[0] for c in calls] == [held] * 4 and not any(c[1] or c[2] for c in calls)
    stop = result.early_stop
    # 25%, 50% (best, step 4), then two evaluations without a higher rate: stopped at step 8
    assert stop["measure"] == "form" and stop["best_step"] == 4 and stop["stopped_at"] == 8 == result.steps
    assert [h["value"] for h in stop["heldout"]] == [0.25, 0.5, 0.5, 0.5]


def test_on_the_target_without_a_metric_it_trains_every_epoch_on_every_item(tiny_model, tokenizer, tmp_path) -> None:
    rows = [tokenize_for_sft(tokenizer, c, 128) for c in CHATS]
    trained: set[int] = set()

    def loss_fn(model, idx):
        trained.update(idx)
        batch = collate([rows[i] for i in idx], tokenizer.eos_token_id)
        return next_token_loss(model, batch), int(batch["attention_mask"].sum())

    args = LoraArgs(rank=4, alpha=8, epochs=1, batch_size=3, precision="float32", holdout_fraction=0.2)
    result = train_lora(tiny_model, args, tmp_path / "a", [len(r[0]) for r in rows], loss_fn, "data", seed=0,
                        checkpoint_every=0)
    assert result.early_stop is None and trained == set(range(len(rows))) and result.steps == 6


def test_a_metric_scores_outside_the_training_autocast_and_the_loss_inside_it() -> None:
    """A target metric answers with the eval's model in the eval's precision (rungs/heldout.py);
    the held-out loss is the training loss, in the training's precision."""
    model = torch.nn.Linear(2, 2)
    seen: list[tuple[str, bool]] = []

    def score(m, items):
        seen.append(("metric", torch.is_autocast_enabled("cpu")))
        return 0.5

    def loss_fn(m, idx):
        seen.append(("loss", torch.is_autocast_enabled("cpu")))
        return torch.tensor(1.0), 1

    EarlyStop([0, 1], 1, 1, 2, HeldoutMetric("form", score, "form:test")).evaluate(model, loss_fn, bf16=True)
    EarlyStop([0, 1], 1, 1, 2).evaluate(model, loss_fn, bf16=True)
    assert seen == [("metric", False), ("loss", True)] and model.training
