"""Benchmark: a LoRA training step with the batch's shared prefix run once, against every row whole.

    PYTHONPATH=src .venv/bin/python bench/train_prefix.py [TASK.yaml] [--prompt system|instructions]
        [--steps 6] [--repeats 3]

The task's training chats under its zero-shot prompt (`system`: the task's system prompt, or the
chat template's default where it has none) or with its instructions as the system prompt
(`instructions`), sorted by length and cut into batches of 8 as the trainer cuts them; LoRA r=16
on every projection of the default model, in float32 and under bf16 autocast (the trainer's two
precisions, its bf16 model held in bf16). Each arm runs `--steps` forward and backward passes over
the same batches (labelled_logits with its prefix sharing forced on, whatever
MIN_PREFIX_TOKENS_SAVED says, and off); the arms alternate `--repeats` times and the median
seconds a step is printed, with the prefix, the row tokens it saves a batch and the relative
difference of the two arms' gradients on the first batch. Not a test: it measures.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH, RANK = 8, 16


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("task", nargs="?", type=Path, default=ROOT / "examples/balance-shift/task.yaml")
    ap.add_argument("--prompt", choices=("system", "instructions"), default="system",
                    help="the system prompt the chats are trained under")
    ap.add_argument("--steps", type=int, default=6, help="batches each arm trains on, per repeat")
    ap.add_argument("--repeats", type=int, default=3, help="times the two arms alternate")
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F
    from peft import LoraConfig, get_peft_model

    from ladder.backends.local import LocalBackend
    from ladder.rungs.finetune import answer_chats
    from ladder.rungs.prompt import ChatPrompt
    from ladder.task import load_task
    from ladder.training import lora_sft
    from ladder.training.args import TARGET_MODULES

    lora_sft.MIN_PREFIX_TOKENS_SAVED = 0  # the "shared" arm shares whatever the prefix
    task = load_task(args.task)
    system = task.spec.prompts.instructions if args.prompt == "instructions" else task.spec.prompts.system
    backend = LocalBackend()
    tok = backend.tokenizer
    chats = answer_chats(ChatPrompt(system=system), task.train)
    rows = sorted((lora_sft.tokenize_for_sft(tok, c, 2048) for c in chats), key=lambda r: len(r[0]))
    start = max(0, len(rows) // 2 - args.steps * BATCH // 2)  # batches of the middle lengths
    batches = [lora_sft.collate(rows[start + k * BATCH:start + (k + 1) * BATCH], lora_sft.pad_id_of(tok))
               for k in range(args.steps)]
    prefix = lora_sft.shared_prefix_len(batches[0])
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads; {args.task.parent.name}, "
          f"--prompt {args.prompt}: prefix {prefix} tokens of rows {batches[0]['input_ids'].shape[1]} wide, "
          f"{(BATCH - 1) * prefix} row tokens saved a batch\n")
    print("| precision | shared s/step | whole s/step | whole / shared | gradient difference |\n|---|---|---|---|---|")
    for precision in ("float32", "bfloat16"):
        bf16 = precision == "bfloat16"
        model = backend.base_copy()
        if bf16:  # as training/loop.py holds it
            model.to(torch.bfloat16)
            model.set_attn_implementation("eager")
        peft = get_peft_model(model, LoraConfig(r=RANK, lora_alpha=2 * RANK, lora_dropout=0.0,
                                                target_modules=list(TARGET_MODULES), task_type="CAUSAL_LM"))
        params = [p for p in peft.parameters() if p.requires_grad]
        for p in params:
            p.data = p.data.float()
        torch.manual_seed(0)
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.data.normal_(0, 0.02)  # nonzero B: gradients reach every LoRA factor

        def step(batch, share: bool) -> None:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits, targets, _ = lora_sft.labelled_logits(peft, batch, share_prefix=share)
                loss = F.cross_entropy(logits, targets)
            loss.backward()

        grads = {}
        for share in (True, False):
            step(batches[0], share)
            grads[share] = torch.cat([p.grad.flatten() for p in params])
            for p in params:
                p.grad = None
        difference = float((grads[True] - grads[False]).norm() / grads[False].norm())
        seconds: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.repeats):
            for share in (True, False):
                t0 = time.perf_counter()
                for batch in batches:
                    step(batch, share)
                    for p in params:
                        p.grad = None
                seconds[share].append((time.perf_counter() - t0) / len(batches))
        shared, whole = statistics.median(seconds[True]), statistics.median(seconds[False])
        print(f"| {precision} | {shared:.3f} | {whole:.3f} | {whole / shared:.2f} | {difference:.1e} |", flush=True)


if __name__ == "__main__":
    main()
