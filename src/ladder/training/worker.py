"""One data-parallel training process: `python -m ladder.training.worker JOB.json`, started N
times by the rung's launcher (training/parallel.py). Joins the process group, loads the base
weights, and trains on the job's rows in the shared loop, which shards the batches."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    (job_file,) = argv if argv is not None else sys.argv[1:]
    job = json.loads(Path(job_file).read_text())

    import torch
    import torch.distributed as dist
    from transformers import AutoModelForCausalLM

    from ladder.training.args import LoraArgs
    from ladder.training.lora_sft import train_on_rows
    from ladder.training.parallel import report_step

    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        model = AutoModelForCausalLM.from_pretrained(job["model"], dtype=getattr(torch, job["dtype"]),
                                                     local_files_only=True)
        if cuda:
            local_rank = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local_rank)
            model.to(f"cuda:{local_rank}")
        rows = [(ids, labels) for ids, labels in job["rows"]]
        train_on_rows(model, rows, job["pad_id"], LoraArgs(**job["args"]), Path(job["out_dir"]), seed=job["seed"],
                      on_step=report_step if dist.get_rank() == 0 else None,
                      checkpoint_every=job["checkpoint_every"],
                      init_adapter=Path(job["init_adapter"]) if job["init_adapter"] else None, kind=job["kind"])
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
