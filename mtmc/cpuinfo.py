"""What the CPU can do, read from Linux's ``/proc/cpuinfo`` (the detector's and the ReID trainer's
bfloat16 options ask it).

Example::

    cpu_has_native_bf16()   # True with AVX512-BF16 or AMX (AMD Zen 4, Intel Sapphire Rapids)
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["NATIVE_BF16_FLAGS", "cpu_has_native_bf16"]

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of bfloat16 instructions


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU computes in bfloat16 natively (elsewhere it is emulated, and slower than
    FP32). Read from Linux's ``/proc/cpuinfo``; False where that cannot be read."""
    try:
        flags = set(cpuinfo.read_text(encoding="utf-8", errors="replace").split())
    except OSError:
        return False
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)
