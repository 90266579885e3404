"""What the CPU can do, read from Linux's ``/proc/cpuinfo`` (the detector's and the ReID trainer's
bfloat16 options ask it).

Example::

    cpu_has_native_bf16()   # True with AVX512-BF16 or AMX (AMD Zen 4, Intel Sapphire Rapids)
"""

from __future__ import annotations

import logging
from pathlib import Path

__all__ = ["NATIVE_BF16_FLAGS", "bf16_usable", "cpu_has_native_bf16"]

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of bfloat16 instructions


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU computes in bfloat16 natively (elsewhere it is emulated, and slower than
    FP32). Read from Linux's ``/proc/cpuinfo``; False where that cannot be read."""
    try:
        flags = set(cpuinfo.read_text(encoding="utf-8", errors="replace").split())
    except OSError:
        return False
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def bf16_usable(setting: str, turn_off: str, log: logging.Logger) -> bool:
    """Whether a bfloat16 option (``setting``, as the user wrote it) can run here; where the CPU
    lacks the instructions, logs a warning that says so and how to turn the option off
    (``turn_off``) and returns False, so the caller computes in FP32."""
    if cpu_has_native_bf16():
        return True
    log.warning("%s: this CPU has no native bfloat16 instructions (%s), where bfloat16 is slower "
                "than FP32; using FP32 (set %s to stop this warning)", setting,
                ", ".join(NATIVE_BF16_FLAGS), turn_off)
    return False
