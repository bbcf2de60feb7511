"""What this machine's CPU can do fast, for choices that depend on it (bf16 or fp32), and what
it is, for the record of a run."""

from __future__ import annotations

import platform
from dataclasses import dataclass

# the instruction-set flags that decide matmul speed and bf16 numerics here
SPEED_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16",
               "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve")


@dataclass(frozen=True)
class CpuInfo:
    model: str | None  # e.g. "Intel(R) Xeon(R) Platinum 8480+"; None where the system does not say
    flags: frozenset[str]  # every flag /proc/cpuinfo lists (empty off Linux)


def cpu_info(cpuinfo_path: str = "/proc/cpuinfo") -> CpuInfo:
    """The CPU's model name and instruction-set flags, from /proc/cpuinfo (Linux); elsewhere the
    model from `platform.processor()` and no flags."""
    try:
        with open(cpuinfo_path) as f:
            text = f.read()
    except OSError:
        return CpuInfo(platform.processor() or None, frozenset())
    model, flags = None, frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if model is None and key in ("model name", "Model", "cpu model"):
            model = value.strip() or None
        elif not flags and key in ("flags", "Features"):  # x86, arm64
            flags = frozenset(value.split())
        if model is not None and flags:
            break
    return CpuInfo(model or platform.processor() or None, flags)


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with native bf16 matmul (AMX or AVX512-BF16), where bf16 pays."""
    flags = cpu_info().flags
    return "amx_bf16" in flags or "avx512_bf16" in flags
