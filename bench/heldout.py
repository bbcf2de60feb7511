"""The held-out answers of a fine-tune's early stop, asked two ways: as the trainer's model
answers (bfloat16 weights where the trainer trains in bf16, the LoRA layers beside them, under
the training's autocast) and as the eval's model answers (the backend's float32 weights with the
adapter merged, rungs/heldout.py's EvalWeights, what the early stop asks now).

    PYTHONPATH=src .venv/bin/python bench/heldout.py --adapter RUNS/balance-shift/artifacts/adapters/lora_sft-...
        [--task examples/balance-shift/task.yaml]

The adapter is a finished lora_sft one (bench/climb.py --runs DIR keeps it); its held-out items
are the trainer's (the seeded holdout_fraction of its training chats under the zero-shot prompt).
Prints the seconds each way (the merge included), how many answers agree, how many agree with
the eval backend's own answers (LocalBackend with the adapter), and the target pass rate each
way.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--adapter", type=Path, required=True, help="a finished lora_sft adapter folder")
    parser.add_argument("--task", type=Path, default=ROOT / "examples/balance-shift/task.yaml")
    args = parser.parse_args()

    import torch
    from peft import PeftModel

    from ladder.backends.local import LocalBackend, generate_chats
    from ladder.backends.local_models import load_model_and_tokenizer
    from ladder.rungs.finetune import answer_chats
    from ladder.rungs.heldout import EvalWeights
    from ladder.rungs.prompt import ChatPrompt
    from ladder.task import load_task
    from ladder.training.early_stop import split_holdout
    from ladder.types import GenerationParams

    task = load_task(args.task)
    settings = json.loads((args.adapter / "training.json").read_text())["config"]
    chats = answer_chats(ChatPrompt(system=task.spec.prompts.system), task.train)
    _, held = split_holdout(len(chats), settings["holdout_fraction"], settings["seed"])
    asks = [chats[i][:-1] for i in held]
    backend = LocalBackend()
    tok, params = backend.tokenizer, GenerationParams(max_new_tokens=task.spec.generation.max_new_tokens)

    trained, _ = load_model_and_tokenizer(backend.name)
    bf16 = settings["bf16"]
    if bf16:  # as training/loop.py holds it
        trained.to(torch.bfloat16)
        trained.set_attn_implementation("eager")
    trained = PeftModel.from_pretrained(trained, str(args.adapter))
    for n, p in trained.named_parameters():
        if "lora_" in n:
            p.data = p.data.float()  # the trainer's adapter is float32 whatever the base dtype
    trained.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        generate_chats(trained, tok, backend.stop_ids, asks[:1], GenerationParams(max_new_tokens=2))  # warm
        t0 = time.perf_counter()
        before = generate_chats(trained, tok, backend.stop_ids, asks, params)
        before_s = time.perf_counter() - t0
    backend.loaded_model()  # the base is loaded by the climb's earlier rungs: not part of the timing
    weights = EvalWeights(backend)
    with torch.no_grad():
        t0 = time.perf_counter()
        after = generate_chats(weights.merged(trained), tok, backend.stop_ids, asks, params)
        after_s = time.perf_counter() - t0
    evaluated = backend.generate(asks, params, adapter=str(args.adapter))

    agree = sum(a.text == b.text for a, b in zip(before, after))
    same_as_eval = sum(a.text == b.text for a, b in zip(after, evaluated))
    print(f"{len(asks)} held-out items of {len(chats)} ({'bf16' if bf16 else 'fp32'} training)")
    print(f"trainer's model: {before_s:.2f} s; eval's model (merge included): {after_s:.2f} s")
    print(f"answers identical between the two: {agree} of {len(asks)}; eval's model vs the eval backend: "
          f"{same_as_eval} of {len(asks)}")
    checks = [c for c in task.checks if c.tag == task.spec.target.metric]
    if checks:
        from ladder.metrics.checks import run_checks

        def passes(gens):
            return sum(all(r.passed for r in run_checks(g.text, ex.expected, checks, ex))
                       for g, ex in zip(gens, [task.train[i] for i in held]))
        print(f"{task.spec.target.metric} passes: trainer's model {passes(before)}, eval's model {passes(after)}")


if __name__ == "__main__":
    main()
