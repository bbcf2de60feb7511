"""A training process for tests/training/test_resume.py to kill and restart (not a test).

usage: resume_worker.py OUT_DIR [--die-before-publish STEP] [--wait-each-step]
Trains the tiny model (tiny.py, built from its seed, so every process starts from the same
weights). Prints `resumed N` once, `step N` after every step, and `done` at the end (flushed).
With --die-before-publish it SIGKILLs itself after checkpoint STEP is fully written but
before the rename that publishes it: the worst moment for a crash. With --wait-each-step it
reads a line from stdin after printing each step, so the test decides at which step it kills
(a step takes milliseconds: without the wait the run would end before the kill lands).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from tiny import tiny_llama, tokenizer

from ladder import fsutil
from ladder.training.args import LoraArgs
from ladder.training.lora_sft import train_lora_sft
from ladder.types import Message

CHATS = [
    (Message("user", f"Shift for A = {a} and B = {b}?"), Message("assistant", f"S = {(a - b) / (a + b):.4f}"))
    for a, b in [(60, 40), (10, 30), (7, 3), (200, 100)]
]
ARGS = LoraArgs(rank=4, alpha=8, epochs=5, batch_size=2, learning_rate=1e-2, precision="float32")  # 10 steps
EVERY = 2


def main() -> None:
    out = Path(sys.argv[1])
    if "--die-before-publish" in sys.argv:
        die_at = int(sys.argv[sys.argv.index("--die-before-publish") + 1])
        publish = fsutil.publish_dir

        def dying_publish(tmp: Path, final: Path) -> None:
            if final.name == f"step-{die_at:06d}":
                os.kill(os.getpid(), signal.SIGKILL)
            publish(tmp, final)

        fsutil.publish_dir = dying_publish
    wait = "--wait-each-step" in sys.argv
    model, tok = tiny_llama(seed=0), tokenizer()
    started = []

    def on_step(step: int, total: int, loss: float) -> None:
        if not started:
            started.append(step - 1)
            print(f"resumed {step - 1}", flush=True)
        print(f"step {step}", flush=True)
        if wait:
            sys.stdin.readline()

    result = train_lora_sft(model, tok, CHATS, ARGS, out, seed=0, on_step=on_step, checkpoint_every=EVERY)
    print("done " + json.dumps({"resumed_from": result.resumed_from, "steps": result.steps}), flush=True)


if __name__ == "__main__":
    main()
