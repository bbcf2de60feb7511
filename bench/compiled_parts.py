"""Benchmark: does torch.compile pay for ladder's eval loop? The instructed balance-shift workload
answered by ladder's default (fp32, auto batches, shared-prefix KV) as it is, and again with parts
of every decoder layer compiled by TorchInductor.

    PYTHONPATH=src .venv/bin/python bench/compiled_parts.py [--n 50] [--max-new-tokens 64] [--repeats 2]

The parts are those whose elementwise operations Inductor can fuse and whose shapes change only
with the batch width (compiled with dynamic shapes, so rows leaving the batch do not recompile):
`mlp` (gate and up products, SiLU, the product of the two, the down product) and `mlp+norms`
(those and the two RMSNorms). The attention stays eager: it takes the loop's per-step Python
arguments (prefix groups, the growing own-slot mask), which would recompile at every step. Each
variant loads its own copy of the weights; the first call (compilation included) is timed apart
from the repeats. Outputs are compared with the uncompiled ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from climb import cpu_description  # noqa: E402
from generate import prompts  # noqa: E402

PARTS = {"eager": (), "mlp": ("mlp",), "mlp+norms": ("mlp", "input_layernorm", "post_attention_layernorm")}


def answers(parts: tuple[str, ...], chats, max_new_tokens: int, repeats: int) -> tuple[list[str], float, list[float]]:
    """The outputs, the first call's seconds (compilation included) and each repeat's seconds."""
    import torch

    from ladder.backends.local import LocalBackend
    from ladder.types import GenerationParams

    backend = LocalBackend()
    model = backend.loaded_model(None)
    for layer in model.model.layers:
        for name in parts:
            module = getattr(layer, name)
            module.forward = torch.compile(module.forward, dynamic=True)
    t0 = time.perf_counter()
    backend.generate(chats[:2], GenerationParams(max_new_tokens=4))
    first = time.perf_counter() - t0
    seconds, out = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = [g.text for g in backend.generate(chats, GenerationParams(max_new_tokens=max_new_tokens))]
        seconds.append(time.perf_counter() - t0)
    return out, first, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50, help="eval inputs answered")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per variant, after the first")
    args = parser.parse_args()
    import torch

    chats = prompts(args.n)
    print(f"{cpu_description()}; torch {torch.__version__}\n")
    print("| variant | first call, compilation included (s) | each call (s) | identical to eager |")
    print("|---|---|---|---|")
    reference = None
    for name, parts in PARTS.items():
        out, first, seconds = answers(parts, chats, args.max_new_tokens, args.repeats)
        reference = out if reference is None else reference
        same = sum(a == b for a, b in zip(out, reference)) / len(reference)
        print(f"| {name} | {first:.1f} | {', '.join(f'{s:.2f}' for s in seconds)} | {same:.0%} |", flush=True)


if __name__ == "__main__":
    main()
