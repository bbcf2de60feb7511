"""Data-parallel training (training/parallel.py): two real processes started by torchrun on the
CPU (gloo), each on its share of every batch, end with the adapter one process would train."""

from __future__ import annotations

import json
import random

import pytest
import torch
from safetensors.torch import load_file

from ladder.training.args import DpoArgs, LoraArgs
from ladder.training.loop import IGNORE
from ladder.training.lora_sft import train_on_rows
from ladder.training.parallel import Group

from .tiny import tiny_llama


def test_the_shares_cover_each_batch_once_and_their_weights_average_to_one():
    for world in (2, 3, 4):
        for size in (1, 5, 8):
            batch = list(range(10, 10 + size))
            groups = [Group(rank, world) for rank in range(world)]
            shares = [g.share(batch) for g in groups]
            assert sorted(i for s in shares for i in s) == batch
            assert sum(g.loss_weight(len(s), size) for g, s in zip(groups, shares)) / world == pytest.approx(1.0)


def test_dpo_refuses_more_than_one_process():
    with pytest.raises(ValueError, match="DPO trains in one process"):
        DpoArgs(processes=2)


def _rows(n: int) -> list[tuple[list[int], list[int]]]:
    """Rows of the same length and the same number of labelled tokens: then each process's mean
    loss weighs like the whole batch's, and two processes must train what one trains."""
    rng = random.Random(0)
    rows = []
    for _ in range(n):
        ids = [rng.randrange(100, 5000) for _ in range(12)]
        rows.append((ids, [IGNORE] * 6 + ids[6:]))
    return rows


def test_two_processes_train_the_adapter_one_process_trains(tmp_path):
    base = tmp_path / "base"
    tiny_llama(seed=0).save_pretrained(base)
    from transformers import AutoModelForCausalLM

    rows = _rows(8)
    args = dict(rank=4, alpha=8, epochs=2, batch_size=4, learning_rate=5e-3, precision="float32")
    steps: list[tuple[int, int]] = []
    parallel = train_on_rows(AutoModelForCausalLM.from_pretrained(base), rows, 0, LoraArgs(processes=2, **args),
                             tmp_path / "two", seed=0, on_step=lambda s, t, _loss: steps.append((s, t)))
    single = train_on_rows(AutoModelForCausalLM.from_pretrained(base), rows, 0, LoraArgs(**args), tmp_path / "one",
                           seed=0)
    manifest = json.loads((tmp_path / "two" / "training.json").read_text())
    assert manifest["processes"] == 2 and manifest["config"]["processes"] == 2
    assert steps == [(s, 4) for s in range(1, 5)]  # rank 0's progress reached the caller, every step
    assert parallel.steps == single.steps == 4
    assert parallel.train_tokens == single.train_tokens == 2 * 8 * 12  # the shares covered every row, once an epoch
    two, one = load_file(tmp_path / "two" / "adapter_model.safetensors"), load_file(tmp_path / "one" / "adapter_model.safetensors")
    assert set(two) == set(one)
    assert all(torch.count_nonzero(two[k]) > 0 for k in two if "lora_B" in k)  # trained, not the zero init
    assert max((two[k] - one[k]).abs().max().item() for k in two) < 1e-4
    assert parallel.losses == pytest.approx(single.losses, rel=1e-4)


def test_an_interrupted_launch_stops_its_training_processes(tmp_path):
    """Ctrl+C or SIGTERM in the climb reaches launch as an exception: the processes it started
    must not train on, orphaned. Here the 'launcher' is a Python process that reports one step,
    writes its pid and sleeps; the step callback raises as an interrupt would."""
    import os
    import shlex
    import time

    from ladder.training.parallel import PROGRESS, launch

    pid_file = tmp_path / "child.pid"
    code = (f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
            f"print({PROGRESS!r} + '1 10 0.5', flush=True); time.sleep(120)")

    def interrupted(step, total, loss):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        launch({}, tmp_path / "job.json", 2, "{python} -c " + shlex.quote(code), interrupted)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return  # gone
        if state == "Z":
            return  # ended, not yet reaped
        time.sleep(0.1)
    os.kill(pid, 9)
    pytest.fail("the training process was still running 10 s after the interrupt")
