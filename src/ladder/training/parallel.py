"""Data-parallel LoRA training: N processes, each on its share of every batch.

With `processes: N` (N > 1) a fine-tuning rung does not train in the climb's process. It writes
the job (the tokenized rows, the arguments, the seed, the base weights' folder) to a file and
starts N processes with the rung's `launcher` (default torchrun, standalone; on a GPU box e.g.
`accelerate launch --num_processes {processes}`), each running `python -m
ladder.training.worker JOB`. The climb waits, reads rank 0's progress lines, and reuses the
adapter they leave like one it trained itself: the store keeps a single writer, the climb's.

In the workers, the shared loop (training/loop.py) sees an initialised process group:
- every process plans the same batches from the seed and takes every N-th item of each batch
  (rank r: items r, r + N, ...), so the processes see disjoint shares of the same steps;
- each loss is scaled by its share's size x N / the batch's size, and the gradients are summed
  over the processes and divided by N: the update is the batch's example-weighted mean gradient,
  what DistributedDataParallel's averaging gives for a per-example mean loss (for SFT, whose loss
  is a mean over a share's tokens, each share weighs by its examples, not by its tokens);
- the processes hold identical weights after every step; rank 0 alone writes checkpoints and
  the adapter.
Devices: a worker places the model on `cuda:<local rank>` where CUDA is available (backend
nccl), else trains on the CPU (backend gloo), which is how the tests run it here.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

DEFAULT_LAUNCHER = "{python} -m torch.distributed.run --standalone --nnodes 1 --nproc_per_node {processes}"
PROGRESS = "ladder-train-step "  # the prefix of rank 0's progress lines on its stdout


@dataclass(frozen=True)
class Group:
    """This process's place among the training processes."""

    rank: int
    world: int

    def share(self, batch: Sequence[int]) -> list[int]:
        return list(batch[self.rank::self.world])

    def loss_weight(self, share: int, batch: int) -> float:
        """What this process's mean loss is scaled by, so that the averaged gradient is the batch's."""
        return share * self.world / batch

    def average_gradients(self, params: Sequence[Any]) -> None:
        import torch
        import torch.distributed as dist

        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= self.world

    def mean(self, x: float) -> float:
        """`x` averaged over the processes."""
        import torch
        import torch.distributed as dist

        t = torch.tensor([x], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return float(t.item()) / self.world

    def total(self, n: int) -> int:
        """`n` summed over the processes."""
        import torch
        import torch.distributed as dist

        t = torch.tensor([n], dtype=torch.long)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return int(t.item())

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()


def current_group() -> Group | None:
    """The process group this process trains in, or None when it trains alone."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    return Group(dist.get_rank(), dist.get_world_size())


def launch(job: dict[str, Any], job_file: Path, processes: int, launcher: str,
           on_step: Callable[[int, int, float], None] | None = None) -> None:
    """Write `job` to `job_file`, run the training processes, follow rank 0's progress; raise
    RuntimeError with the end of their output when they fail."""
    job_file.parent.mkdir(parents=True, exist_ok=True)
    job_file.write_text(json.dumps(job))
    command = [*shlex.split(launcher.format(python=shlex.quote(sys.executable), processes=processes)),
               "-m", "ladder.training.worker", str(job_file)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}  # the child's environment only
    tail: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as proc:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if line.startswith(PROGRESS) and on_step is not None:
                    step, total, loss = line[len(PROGRESS):].split()
                    on_step(int(step), int(total), float(loss))
                else:
                    tail = (tail + [line.rstrip()])[-40:]
        except BaseException:
            # an interrupted climb (Ctrl+C, SIGTERM) stops its training processes with it; the
            # launcher passes the signal on to its workers, and their checkpoints let a resume go on
            proc.terminate()
            raise
        code = proc.wait()
    if code != 0:
        raise RuntimeError(f"data-parallel training failed (exit {code}): {' '.join(command)}\n" + "\n".join(tail))


def report_step(step: int, total: int, loss: float) -> None:
    """Rank 0's progress line, read by `launch` in the climb's process."""
    print(f"{PROGRESS}{step} {total} {loss:.6f}", flush=True)
