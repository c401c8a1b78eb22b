"""Flush-to-zero while the MLP trains.

Numbers below the smallest normal (about 1e-38 in float32, 1e-308 in float64) are subnormal,
and on many x86 CPUs every operation that meets one takes a microcode assist of tens to
hundreds of cycles. Training with weight decay makes them: products of small weights and small
activations inside the matrix products, which no flush of the stored parameters can reach. A
[256, 256] network on 10 000 rows then ran 3.5 s an epoch for ten epochs and 12–14 s from the
eleventh on (benchmarks/bench_mlp.py, case wide).

The processor's own remedy is two bits of its SSE control register (MXCSR): flush-to-zero
(subnormal results become 0) and denormals-are-zero (subnormal inputs count as 0).
`flush_to_zero()` sets both for the calling thread, where the training runs (its BLAS calls
are held to that one thread), and restores the register afterwards, so that no other code of
the process is affected. Only numbers below the smallest normal change, to 0.

It works on x86-64 Linux with glibc, through the C library's fegetenv/fesetenv (ctypes, no
compiled code of ours); elsewhere it does nothing, and the flush of the stored state that the
update rules do (wdcli.fused) is what remains.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import platform
import sys
from collections.abc import Iterator

FENV_BYTES = 32  # sizeof(fenv_t) on x86-64 glibc: the x87 environment (28 bytes), then MXCSR
MXCSR_AT = 28
FTZ_DAZ = 0x8040  # MXCSR bit 15 flush-to-zero, bit 6 denormals-are-zero


def _libm() -> ctypes.CDLL | None:
    """The C maths library, where flush_to_zero can use it; None elsewhere."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None
    if platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("m")
    try:
        libm = ctypes.CDLL(name)
        libm.fegetenv, libm.fesetenv  # noqa: B018 (both present)
    except (OSError, AttributeError, TypeError):
        return None
    return libm


_LIBM = _libm()


def supported() -> bool:
    """Whether flush_to_zero changes anything on this platform."""
    return _LIBM is not None


@contextlib.contextmanager
def flush_to_zero() -> Iterator[None]:
    """Flush-to-zero and denormals-are-zero for the calling thread, restored on exit."""
    libm = _LIBM
    saved = ctypes.create_string_buffer(FENV_BYTES)
    if libm is None or libm.fegetenv(saved) != 0:
        yield
        return
    mxcsr = int.from_bytes(saved.raw[MXCSR_AT:FENV_BYTES], "little")
    if mxcsr >> 16:  # reserved bits set: not the layout above, leave the register alone
        yield
        return
    raw = saved.raw[:MXCSR_AT] + (mxcsr | FTZ_DAZ).to_bytes(4, "little")
    changed = ctypes.create_string_buffer(raw, FENV_BYTES)
    libm.fesetenv(changed)
    try:
        yield
    finally:
        libm.fesetenv(saved)
