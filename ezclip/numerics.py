"""Reproducible CPU numerics for the embedded mini benchmark.

Measured on the tiny CLIP's pretraining (60 steps, same seed), each of these alone changes the
weights it ends with: the number of threads (reductions split differently), torch's vectorised
kernels (``ATEN_CPU_CAPABILITY``: default / AVX2 / AVX-512 give three results), oneDNN's instruction
set (convolutions) and MKL's code path (GEMMs; it picks its kernels per CPU model). Pinning all four
to one thread and AVX2 code paths makes the tiny models compute the same numbers on every x86-64 CPU
with AVX2, whatever its maker or its AVX-512 support; a machine without AVX2 (or not x86) computes
slightly different ones, which the regression check detects by fingerprint and then compares
statistically. One thread is also what tiny models want: their operations are too small to split,
and on a shared machine every synchronisation waits for a descheduled thread.

The settings must be in place before the process's first torch computation (each library reads its
variable once); a variable the user set is left as it is, and what is in force is recorded.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch

PINNED_ENV = dict(ATEN_CPU_CAPABILITY="avx2", MKL_CBWR="AVX2,STRICT", ONEDNN_MAX_CPU_ISA="AVX2")
THREADS = 1
# EZCLIP_NUMERICS=native leaves every library's own choice (for measuring what pinning changes)
SWITCH = "EZCLIP_NUMERICS"


def pinned() -> bool:
    return os.environ.get(SWITCH, "pinned") != "native"


def pin_cpu_numerics(threads: int = THREADS) -> dict[str, Any]:
    """Pin the CPU numerics of this process (see the module docstring); returns ``describe()``."""
    if pinned():
        for name, value in PINNED_ENV.items():
            os.environ.setdefault(name, value)
        torch.set_num_threads(threads)
    return describe()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> dict[str, Any]:
    """What decides this process's CPU numbers: the settings in force and the CPU they run on."""
    # (the library variables are reported as set; a library that finds an ISA it cannot use falls back)
    return dict(
        pinned=pinned(),
        threads=torch.get_num_threads(),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        **{name.lower(): os.environ.get(name) for name in PINNED_ENV},
        cpu=cpu_model(),
        machine=platform.machine(),
    )
