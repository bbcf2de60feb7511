"""Benchmark: how close the fp32 matrix products of one decode step come to the matmul peak, by
the number of rows decoded together.

    PYTHONPATH=src .venv/bin/python bench/skinny_matmul.py [--rows 1,8,16,32,50,64,128,256]

A decode step multiplies a few dozen rows (one per answer still being written) by every weight
matrix of SmolLM2-135M: per layer q and o (576 x 576), k and v (576 x 192), gate and up
(576 x 1536), down (1536 x 576), and the output head (576 x 49,152) once. This times exactly those
products (F.linear, as transformers calls them, on the model's own fp32 weights, so nothing stays
in cache between steps) for each batch width and prints their FLOP/s against the square-matmul
peak that bench/generate.py's MFU is measured against (ladder.hardware.matmul_flops). It
answers whether an eval MFU target is within reach of these products at the widths an eval
batch has: no loop around them can do better than they do. The last column times the same
products through oneDNN instead of MKL: MKL's sgemm has lacked kernels for AMD's Zen cores at
some shapes (pytorch/builder#504), so on an AMD CPU oneDNN may be the faster of the two.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from climb import cpu_description  # noqa: E402


def onednn_linear(x, w):
    """The same product through oneDNN (what Inductor calls for a linear without MKL) instead of
    the MKL sgemm that F.linear reaches on x86."""
    import torch

    return torch.ops.mkldnn._linear_pointwise(x, w, None, "none", [], "")


def step_seconds(weights, rows: int, repeats: int, linear=None) -> float:
    """Best time of one decode step's products at `rows` rows, through `linear` (F.linear)."""
    import torch
    import torch.nn.functional as F

    linear = linear or F.linear
    x = {w.shape[1]: torch.randn(rows, w.shape[1]) for w in weights}
    with torch.inference_mode():
        for w in weights:  # warm-up: kernel choice, first touch
            linear(x[w.shape[1]], w)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            for w in weights:
                linear(x[w.shape[1]], w)
            best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="1,8,16,32,50,64,128,256", help="batch widths, comma-separated")
    parser.add_argument("--repeats", type=int, default=5, help="steps timed per width (the best is kept)")
    args = parser.parse_args()

    from ladder.backends.local_models import load_model_and_tokenizer
    from ladder.hardware import matmul_flops

    model, _ = load_model_and_tokenizer("smollm2-135m-instruct")
    weights = [m.weight.detach() for layer in model.model.layers
               for m in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj,
                         layer.self_attn.o_proj, layer.mlp.gate_proj, layer.mlp.up_proj, layer.mlp.down_proj)]
    weights.append(model.lm_head.weight.detach())
    flops_per_row = 2 * sum(w.numel() for w in weights)
    nbytes = 4 * sum(w.numel() for w in weights)
    peak = matmul_flops("float32", seconds=1.0)
    print(f"{cpu_description()}\nfp32 matmul peak measured: {peak / 1e9:.0f} GFLOP/s; one step's products read "
          f"{nbytes / 1e6:.0f} MB of weights\n")
    print("| rows | step's products (ms) | GFLOP/s | share of peak | weights read (GB/s) | through oneDNN (ms) |")
    print("|---|---|---|---|---|---|")
    for rows in (int(r) for r in args.rows.split(",")):
        s = step_seconds(weights, rows, args.repeats)
        onednn = step_seconds(weights, rows, args.repeats, onednn_linear)
        print(f"| {rows} | {s * 1e3:.1f} | {flops_per_row * rows / s / 1e9:.0f} | "
              f"{flops_per_row * rows / s / peak:.0%} | {nbytes / s / 1e9:.1f} | {onednn * 1e3:.1f} |", flush=True)


if __name__ == "__main__":
    main()
