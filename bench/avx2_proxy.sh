#!/bin/sh
# Run a command as an AVX2-only CPU would run it, on a CPU that has AVX-512 (and AMX).
#
#     bench/avx2_proxy.sh COMMAND [ARG ...]      # as root: it needs a mount namespace
#
# The AMD EPYC machines this project meets have AVX2 only: there bf16 is slower than fp32 and
# the fp32 products take other kernels. On a developer's AVX-512 machine this script makes the
# same choices happen, so that the AVX2 code paths can be profiled and compared:
#   - torch's own kernels are capped at AVX2 (ATEN_CPU_CAPABILITY), MKL's (MKL_ENABLE_INSTRUCTIONS)
#     and oneDNN's (ONEDNN_MAX_CPU_ISA) too;
#   - /proc/cpuinfo is replaced, inside the command's own mount namespace only, by a copy without
#     the avx512* and amx* flags and with "(AVX2-only proxy)" after the model name, so that any code
#     that reads the flags (ladder's hardware.py, the older code) sees an AVX2 CPU and the
#     per-machine caches of measured peaks keep the proxy apart from the real CPU.
# It is a proxy, not an AMD EPYC: the memory, caches and clock stay the host's. Figures taken
# under it are labelled so in BENCHMARKS.md; `torch.backends.cpu.get_cpu_capability()` reads
# "AVX2" inside it.
set -eu
[ "$#" -gt 0 ] || { echo "usage: $0 COMMAND [ARG ...]" >&2; exit 2; }
fake=$(mktemp "${TMPDIR:-/tmp}/cpuinfo-avx2.XXXXXX")
trap 'rm -f "$fake"' EXIT
sed -e 's/^\(model name[[:space:]]*:.*\)$/\1 (AVX2-only proxy)/' \
    -e '/^flags/ s/ avx512[a-z0-9_]*//g' -e '/^flags/ s/ amx[a-z0-9_]*//g' /proc/cpuinfo > "$fake"
unshare --mount sh -c 'mount --bind "$0" /proc/cpuinfo && shift && exec env ATEN_CPU_CAPABILITY=avx2 \
    MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 "$@"' "$fake" -- "$@"
