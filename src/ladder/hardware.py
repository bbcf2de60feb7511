"""What this machine's CPU can do fast, for choices that depend on it (bf16 or fp32), and what
it is, for the record of a run.

Whether bfloat16 pays is measured, not read off the flags alone: an AVX512-BF16 flag says the
instructions exist, not that torch's kernels for the shapes ladder runs are faster with them
(and on AVX2-only CPUs bf16 is emulated: on an AMD EPYC it ran several times slower than
fp32). `bf16_pays` asks the flags first (no flag, no measurement), then times one matmul in both
precisions once per machine and keeps the figures in the cache folder, keyed on the CPU (its name,
family, model number and stepping, flags), the torch version and its threads, so every later
process reads them instead of spending a second measuring.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

from ladder.fsutil import cache_root, write_file_atomic

# bf16 must beat fp32 by this factor before `auto` takes it: a near tie does not pay for the
# answers that change with the precision (see backends/precision.py)
BF16_MIN_SPEEDUP = 1.2

# the instruction-set flags that decide matmul speed and bf16 numerics here
SPEED_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16",
               "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve")


@dataclass(frozen=True)
class CpuInfo:
    model: str | None  # e.g. "Intel(R) Xeon(R) Platinum 8480+"; None where the system does not say
    flags: frozenset[str]  # every flag /proc/cpuinfo lists (empty off Linux)
    # family, model number and stepping (x86) or implementer and part (arm64): a virtual machine
    # may name two generations alike ("AMD EPYC"), and their matmul peaks differ (119 against 186
    # GFLOP/s fp32 for two such 2-core machines); "" where the system does not say
    identity: str = ""


# the /proc/cpuinfo keys that tell one CPU generation from another under the same model name
IDENTITY_KEYS = ("cpu family", "model", "stepping", "CPU implementer", "CPU architecture", "CPU variant", "CPU part")


def cpu_info(cpuinfo_path: str = "/proc/cpuinfo") -> CpuInfo:
    """The CPU's model name, identity and instruction-set flags, from /proc/cpuinfo (Linux, its
    first processor); elsewhere the model from `platform.processor()` and no flags."""
    try:
        with open(cpuinfo_path) as f:
            text = f.read()
    except OSError:
        return CpuInfo(platform.processor() or None, frozenset())
    model, flags, identity = None, frozenset(), {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if model is None and key in ("model name", "Model", "cpu model"):
            model = value.strip() or None
        elif not flags and key in ("flags", "Features"):  # x86, arm64
            flags = frozenset(value.split())
        elif key in IDENTITY_KEYS:
            identity[key] = value.strip()
    described = " ".join(f"{k} {identity[k]}" for k in IDENTITY_KEYS if k in identity)
    return CpuInfo(model or platform.processor() or None, flags, described)


def cpu_has_bf16_instructions(info: CpuInfo | None = None) -> bool:
    """True on CPUs with native bf16 matmul instructions (AMX or AVX512-BF16)."""
    flags = (info or cpu_info()).flags
    return "amx_bf16" in flags or "avx512_bf16" in flags


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


@dataclass(frozen=True)
class MatmulPeaks:
    """This machine's measured matmul FLOP/s per precision, and where the figures came from."""

    float32: float
    bfloat16: float
    measured_at: str  # "cache" when read back, else "now"

    @property
    def bf16_speedup(self) -> float:
        return self.bfloat16 / self.float32


def _machine_key(info: CpuInfo) -> str:
    import torch

    text = json.dumps([info.model, info.identity, sorted(info.flags), torch.__version__, torch.get_num_threads()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def peaks_path(info: CpuInfo, cache_dir: Path | None = None, size: int = 1024) -> Path:
    """The file that keeps this machine's measured matmul peaks."""
    return (cache_dir or cache_root() / "hardware") / f"matmul{size}-{_machine_key(info)}.json"


def matmul_peaks(info: CpuInfo | None = None, cache_dir: Path | None = None, size: int = 1024) -> MatmulPeaks:
    """fp32 and bf16 FLOP/s of a `size` square matmul, measured once per machine (CPU, torch
    version, threads) and read from `cache_dir` (default: the cache folder's hardware/) after."""
    info = info or cpu_info()
    path = peaks_path(info, cache_dir, size)
    try:
        saved = json.loads(path.read_text())
        return MatmulPeaks(float(saved["float32"]), float(saved["bfloat16"]), "cache")
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not measured yet here, or an unreadable file: measure again
    peaks = MatmulPeaks(matmul_flops("float32", size), matmul_flops("bfloat16", size), "now")
    write_file_atomic(path, json.dumps({"float32": peaks.float32, "bfloat16": peaks.bfloat16,
                                        "cpu": info.model, "size": size}))
    return peaks


@functools.lru_cache(maxsize=None)
def bf16_pays() -> bool:
    """Whether `auto` precision should take bfloat16 on this machine: the CPU has the
    instructions and a bf16 matmul measured at least BF16_MIN_SPEEDUP times faster than fp32."""
    return bf16_pays_on(cpu_info())


def bf16_pays_on(info: CpuInfo, cache_dir: Path | None = None) -> bool:
    """`bf16_pays` for a given CPU description and cache folder."""
    if not cpu_has_bf16_instructions(info):
        return False  # emulated bf16: slower everywhere it was measured, so not worth a measurement
    return matmul_peaks(info, cache_dir).bf16_speedup >= BF16_MIN_SPEEDUP
