"""Benchmark: LoRA SFT throughput and peak memory, ladder's trainer vs alternatives (not a test).

Same model (SmolLM2-135M-Instruct), same data (the ticket-routing training chats), same LoRA
(r=16 on all linear layers), same optimizer steps and batch size, one fresh process per trainer
so peak RSS is its own. With --dpo it also compares ladder's DPO loss with TRL's DPOTrainer.

    OMP_NUM_THREADS=2 .venv/bin/python bench/train.py [--steps 15] [--dpo]

Prints a Markdown table for BENCHMARKS.md. TRL rows need `pip install trl` (not a dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TASK = ROOT / "examples" / "ticket-routing" / "task.yaml"
BATCH, RANK = 8, 16
SFT_RUNS = ["ladder fp32", "ladder bf16", "naive padded fp32", "trl SFTTrainer defaults"]
DPO_RUNS = ["ladder dpo bf16", "trl DPOTrainer"]


def _chats():
    from ladder.rungs.prompt import ChatPrompt
    from ladder.task import load_task
    from ladder.types import Message

    task = load_task(TASK)
    prompt = ChatPrompt(system=task.spec.prompts.system)
    return [prompt.render(ex) + (Message("assistant", ex.expected),) for ex in task.train]


def _pairs():
    from ladder.training.dpo import PreferencePair

    chats = _chats()
    # preferred: the reference JSON; not preferred: the next example's answer (right form, wrong content)
    return [PreferencePair(c[:-1], c[-1].content, chats[(i + 1) % len(chats)][-1].content) for i, c in enumerate(chats)]


def _lora():
    from peft import LoraConfig

    from ladder.training.args import TARGET_MODULES

    return LoraConfig(r=RANK, lora_alpha=2 * RANK, lora_dropout=0.0, task_type="CAUSAL_LM",
                      target_modules=list(TARGET_MODULES))


def run_one(name: str, steps: int, seed: int = 0) -> dict:
    from ladder.backends.local_models import load_model_and_tokenizer
    from ladder.training.lora_sft import (
        LoraArgs,
        pad_id_of,
        tokenize_for_sft,
        train_on_rows,
    )

    model, tok = load_model_and_tokenizer("smollm2-135m-instruct")
    tok.padding_side = "right"
    chats = _chats()
    rows = [tokenize_for_sft(tok, c, 512) for c in chats]
    n_examples = steps * BATCH
    epochs = max(1, -(-n_examples // len(rows)))
    args = LoraArgs(rank=RANK, alpha=2 * RANK, epochs=epochs, batch_size=BATCH, learning_rate=1e-3,
                    precision="bfloat16" if "bf16" in name else "float32")
    out = Path(tempfile.mkdtemp()) / "adapter"
    t0 = time.perf_counter()
    padded = None
    if name.startswith("ladder dpo"):
        from ladder.training.dpo import train_lora_dpo

        pairs = _pairs()[: steps * BATCH // 2]
        from ladder.training.args import DpoArgs

        dpo = DpoArgs(rank=RANK, alpha=2 * RANK, epochs=1, batch_size=BATCH // 2, learning_rate=5e-4,
                      precision="bfloat16", beta=0.1, nll_weight=0.0)
        r = train_lora_dpo(model, tok, pairs, dpo, out, seed=0, checkpoint_every=0)
        tokens, loss, trained = r.train_tokens, r.final_loss, model
    elif name.startswith("ladder"):
        use = rows[: steps * BATCH // epochs]
        r = train_on_rows(model, use, pad_id_of(tok), args, out, seed=seed, checkpoint_every=0)
        tokens, loss, trained = r.train_tokens, r.losses[-1], model
        padded = _padded_tokens(use, BATCH, epochs, seed)
    elif name.startswith("naive"):
        tokens, loss, trained, padded = _naive(model, rows, pad_id_of(tok), steps, seed)
    elif name == "trl SFTTrainer defaults":
        tokens, loss, trained = _trl(model, tok, chats, rows, steps, seed)
    elif name == "trl DPOTrainer":
        tokens, loss, trained = _trl_dpo(model, tok, steps)
    else:
        raise SystemExit(f"unknown run {name}")
    seconds = time.perf_counter() - t0
    return {"name": name, "seconds": seconds, "tokens": tokens, "tokens_per_s": tokens / seconds,
            "loss": loss, "eval_loss": None if "dpo" in name.lower() else _answer_loss(trained, rows, pad_id_of(tok)),
            "padding": None if padded is None else padded / tokens - 1,
            "margin": _held_out_margin(trained, tok, steps) if "dpo" in name.lower() else None,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def _answer_loss(model, rows, pad_id) -> float:
    """Mean next-token loss on the answers of every training chat, in fp32, after training: one
    yardstick for all trainers (their logged losses cover different batches and token sets)."""
    import torch

    from ladder.training.lora_sft import collate, next_token_loss

    model.float().eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(rows), 16):
            batch = collate(rows[i : i + 16], pad_id)
            n = int((batch["labels"][:, 1:] != -100).sum())
            total += float(next_token_loss(model, batch)) * n
            count += n
    return total / count


def _held_out_margin(model, tok, steps) -> float:
    """Mean log p(chosen) - log p(rejected) on 16 pairs neither DPO run trained on."""
    from ladder.training.dpo import preference_margins

    model.float().eval()
    held_out = _pairs()[steps * BATCH // 2 :][:16]
    margins = preference_margins(model, tok, held_out)
    return sum(margins) / len(margins)


def _padded_tokens(rows, batch, epochs, seed) -> int:
    """Tokens ladder's length-sorted batch plan feeds the model, padding included."""
    from ladder.training.loop import batch_plan

    plan = batch_plan([len(r[0]) for r in rows], batch, epochs, seed)
    return sum(len(b) * max(len(rows[i][0]) for i in b) for b in plan)


def _naive(model, rows, pad_id, steps, seed=0):
    """The loop a first attempt writes: shuffled (unsorted) batches padded to the longest, fp32."""
    import random

    import torch
    from peft import get_peft_model

    from ladder.training.lora_sft import collate

    torch.manual_seed(seed)  # the LoRA A matrices' initialisation
    peft = get_peft_model(model, _lora())
    opt = torch.optim.AdamW([p for p in peft.parameters() if p.requires_grad], lr=1e-3)
    order = list(range(len(rows))) * 4
    random.Random(seed).shuffle(order)
    tokens, padded, loss = 0, 0, None
    for s in range(steps):
        batch = collate([rows[i] for i in order[s * BATCH : (s + 1) * BATCH]], pad_id)
        loss = peft(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        tokens += int(batch["attention_mask"].sum())
        padded += batch["attention_mask"].numel()
    return tokens, float(loss), peft, padded


def _trl(model, tok, chats, rows, steps, seed=0):
    from datasets import Dataset
    from trl import SFTConfig as TrlConfig
    from trl import SFTTrainer

    # prompt/completion rows: TRL's default then takes the loss on the completion only, like ladder
    data = Dataset.from_list([{"prompt": [m.to_dict() for m in c[:-1]], "completion": [c[-1].to_dict()]}
                              for c in chats])
    args = TrlConfig(output_dir=tempfile.mkdtemp(), max_steps=steps, per_device_train_batch_size=BATCH, seed=seed,
                     learning_rate=1e-3, report_to=[], save_strategy="no", logging_steps=1, use_cpu=True)
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok, peft_config=_lora())
    out = trainer.train()
    mean_tokens = sum(len(r[0]) for r in rows) / len(rows)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return int(mean_tokens * steps * BATCH), losses[-1] if losses else out.training_loss, trainer.model


def _trl_dpo(model, tok, steps):
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    pairs = _pairs()[: steps * BATCH // 2]
    data = Dataset.from_list([{"prompt": [m.to_dict() for m in p.prompt],
                               "chosen": [{"role": "assistant", "content": p.chosen}],
                               "rejected": [{"role": "assistant", "content": p.rejected}]} for p in pairs])
    args = DPOConfig(output_dir=tempfile.mkdtemp(), max_steps=steps, per_device_train_batch_size=BATCH // 2,
                     learning_rate=5e-4, report_to=[], save_strategy="no", logging_steps=1, use_cpu=True, bf16=True)
    trainer = DPOTrainer(model=model, args=args, train_dataset=data, processing_class=tok, peft_config=_lora())
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    from ladder.training.dpo import tokenize_pair

    tokens = sum(len(c[0]) + len(r[0]) for c, r in (tokenize_pair(tok, p, 512) for p in pairs))
    return tokens, losses[-1] if losses else float("nan"), trainer.model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=15, help="optimizer steps per trainer")
    ap.add_argument("--dpo", action="store_true", help="also compare DPO implementations")
    ap.add_argument("--seed", type=int, default=0, help="seed of the data order and the LoRA initialisation")
    ap.add_argument("--trainers", help=f"comma-separated subset of: {', '.join(SFT_RUNS + DPO_RUNS)}")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_one(args.one, args.steps, args.seed)), flush=True)
        return
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    import platform

    flags = [f for f in ("avx512f", "avx512_bf16", "amx_bf16") if f in open("/proc/cpuinfo").read()]
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, flags {' '.join(flags)}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, load {os.getloadavg()[0]:.1f}, "
          f"seed {args.seed}\n")
    print("| trainer | tokens/s | padding | peak RSS GB | last logged loss | answer loss after | held-out DPO margin "
          "| seconds |\n|---|---|---|---|---|---|---|---|", flush=True)
    results = []
    names = args.trainers.split(",") if args.trainers else SFT_RUNS + (DPO_RUNS if args.dpo else [])
    for name in names:
        p = subprocess.run([sys.executable, __file__, "--one", name, "--steps", str(args.steps), "--seed", str(args.seed)],
                           capture_output=True, text=True, env=env)
        line = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
        if p.returncode or not line:
            print(f"| {name} | failed: {(p.stderr.strip().splitlines() or ['?'])[-1][:120]} | | | | | | |", flush=True)
            continue
        r = json.loads(line[0][7:])
        results.append(r)
        pad = "—" if r["padding"] is None else f"{100 * r['padding']:.0f}%"
        after = "—" if r["eval_loss"] is None else f"{r['eval_loss']:.3f}"
        margin = "—" if r["margin"] is None else f"{r['margin']:.2f}"
        print(f"| {r['name']} | {r['tokens_per_s']:.0f} | {pad} | {r['peak_rss_gb']:.2f} | {r['loss']:.3f} | {after} "
              f"| {margin} | {r['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
