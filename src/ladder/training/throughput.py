"""Training throughput figures: tokens per second and model FLOPs utilisation (MFU).

MFU = 6 x parameters x tokens/s / the matmul FLOP/s this machine measured in the training
dtype. 6 x N per token is the usual dense-transformer estimate of a full forward + backward
(Kaplan et al. 2020); a LoRA step skips the frozen weights' gradients and does less, so its MFU
reads low next to full fine-tuning figures: it is a yardstick between runs on one machine,
not an efficiency claim.
"""

from __future__ import annotations

import functools
import time


@functools.lru_cache(maxsize=None)
def matmul_flops(dtype_name: str = "float32", size: int = 1024, seconds: float = 0.3) -> float:
    """Measured FLOP/s of a square `size` matmul in `dtype_name` (best of repeated timings)."""
    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    a @ b  # warm-up: kernel selection and thread pool start
    best, deadline = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * size**3 / best


def mfu(n_params: int, tokens_per_s: float, peak_flops: float) -> float:
    """Model FLOPs utilisation: 6 x params x tokens/s over the measured peak."""
    return 6 * n_params * tokens_per_s / peak_flops if peak_flops > 0 else 0.0
