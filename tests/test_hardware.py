"""The CPU facts ladder decides precision on: bf16 only where it was measured faster."""

from __future__ import annotations

import json
from pathlib import Path

from ladder.hardware import (BF16_MIN_SPEEDUP, CpuInfo, bf16_pays_on, cpu_has_bf16_instructions, cpu_info,
                             matmul_peaks, peaks_path)

AMX = CpuInfo("Intel(R) Xeon(R) Platinum 8480+", frozenset({"avx2", "avx512f", "amx_bf16", "amx_tile"}))
AVX2 = CpuInfo("AMD EPYC", frozenset({"avx", "avx2", "fma"}))


def test_cpu_info_reads_model_and_flags(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 fma\n\n"
                       "processor\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 fma\n")
    info = cpu_info(str(cpuinfo))
    assert info.model == "AMD EPYC" and info.flags == {"fpu", "avx2", "fma"} and info.identity == ""
    assert not cpu_has_bf16_instructions(info) and cpu_has_bf16_instructions(AMX)


def test_two_cpus_named_alike_keep_their_own_measured_peaks(tmp_path: Path) -> None:
    """A virtual machine may call two generations "AMD EPYC": family, model and stepping tell them
    apart, so one's cached matmul peak is never read as the other's."""
    infos = []
    for family in (23, 25):
        cpuinfo = tmp_path / f"cpuinfo{family}"
        cpuinfo.write_text(f"processor\t: 0\ncpu family\t: {family}\nmodel\t\t: 1\nmodel name\t: AMD EPYC\n"
                           f"stepping\t: 1\nflags\t\t: fpu avx2 fma\n\nprocessor\t: 1\ncpu family\t: 99\n")
        infos.append(cpu_info(str(cpuinfo)))
    assert infos[1].identity == "cpu family 25 model 1 stepping 1"  # the first processor's, not the second's
    assert infos[0].model == infos[1].model and peaks_path(infos[0], tmp_path) != peaks_path(infos[1], tmp_path)


def test_no_bf16_instructions_means_fp32_without_measuring(tmp_path: Path) -> None:
    assert bf16_pays_on(AVX2, tmp_path) is False
    assert list(tmp_path.iterdir()) == []  # nothing was measured, nothing cached


def write_peaks(cache: Path, fp32: float, bf16: float) -> None:
    path = peaks_path(AMX, cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"float32": fp32, "bfloat16": bf16}))


def test_the_flags_are_not_enough_bf16_must_have_measured_faster(tmp_path: Path) -> None:
    write_peaks(tmp_path / "slower", fp32=90e9, bf16=30e9)  # an AVX512-BF16 CPU whose kernels do not pay
    assert bf16_pays_on(AMX, tmp_path / "slower") is False
    write_peaks(tmp_path / "tie", fp32=90e9, bf16=90e9 * (BF16_MIN_SPEEDUP - 0.05))
    assert bf16_pays_on(AMX, tmp_path / "tie") is False
    write_peaks(tmp_path / "faster", fp32=90e9, bf16=900e9)  # AMX
    assert bf16_pays_on(AMX, tmp_path / "faster") is True


def test_peaks_are_measured_once_per_machine_then_read_back(tmp_path: Path) -> None:
    first = matmul_peaks(AVX2, tmp_path, size=64)
    assert first.measured_at == "now" and first.float32 > 0 and first.bfloat16 > 0
    again = matmul_peaks(AVX2, tmp_path, size=64)
    assert again.measured_at == "cache" and (again.float32, again.bfloat16) == (first.float32, first.bfloat16)
    assert matmul_peaks(AMX, tmp_path, size=64).measured_at == "now"  # another CPU: its own figures
    peaks_path(AVX2, tmp_path, size=64).write_text("{not json")  # a damaged file is measured again
    assert matmul_peaks(AVX2, tmp_path, size=64).measured_at == "now"
