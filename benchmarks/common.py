"""What every benchmark shares: repeated timing with median and range, the machine it ran on.

Each script prints `header(...)` first: the CPU, the load, the BLAS libraries numpy and scipy
actually loaded (threadpoolctl: library, version, kernel architecture, threads) and the
measured one-thread matmul peak in float64 and float32, so that a figure can be read against
the machine that produced it. Timings are `Timing`s: every repetition kept, printed as the
median with the min–max range. Compare ratios measured in one process, not seconds.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits


@dataclass
class Timing:
    """Seconds of each repetition of one job."""

    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def min(self) -> float:
        return min(self.seconds)

    @property
    def max(self) -> float:
        return max(self.seconds)

    def __str__(self) -> str:
        return f"{seconds(self.median)} ({seconds(self.min)}–{seconds(self.max)})"


def seconds(value: float) -> str:
    """A duration with three significant digits: 0.0123 s, 1.23 s, 123 s."""
    if value >= 100:
        return f"{value:.0f} s"
    return f"{value:.3g} s"


def timed(job: Callable[[], object]) -> float:
    start = time.perf_counter()
    job()
    return time.perf_counter() - start


def measure(job: Callable[[], object], repeats: int, warmup: int = 0) -> Timing:
    """Run `job` warmup times untimed, then `repeats` times timed."""
    for _ in range(warmup):
        job()
    return Timing([timed(job) for _ in range(repeats)])


def interleaved(jobs: dict, repeats: int, warmup: int = 0) -> dict:
    """Time every job `repeats` times in turns (a, b, a, b, …), so that a machine getting
    busier slows all of them alike; `warmup` untimed rounds first. {name: Timing}."""
    for _ in range(warmup):
        for job in jobs.values():
            job()
    times = {name: Timing() for name in jobs}
    for _ in range(repeats):
        for name, job in jobs.items():
            times[name].seconds.append(timed(job))
    return times


def ratio(slow: Timing, fast: Timing) -> str:
    """slow/fast as the ratio of medians with the range of the per-repetition ratios."""
    pairs = [a / b for a, b in zip(slow.seconds, fast.seconds, strict=False)]
    return f"{slow.median / fast.median:.2f}× ({min(pairs):.2f}–{max(pairs):.2f})"


def blas_libraries() -> list[dict]:
    """The BLAS (and OpenMP) libraries loaded in this process, as threadpoolctl sees them."""
    keys = ("user_api", "internal_api", "version", "architecture", "num_threads")
    return [{key: info.get(key) for key in keys} for info in threadpool_info()]


def matmul_peak(dtype: str = "float64", size: int = 2048, repeats: int = 5) -> float:
    """GF/s of the best of `repeats` size×size products on ONE BLAS thread (2·size³ flops)."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(dtype)
    out = np.empty_like(a)
    with threadpool_limits(limits=1, user_api="blas"):
        np.matmul(a, a, out=out)
        best = min(timed(lambda: np.matmul(a, a, out=out)) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def cpu_name() -> str:
    """The CPU's model name, family/model numbers and widest vector unit (Linux), or the
    platform's guess elsewhere."""
    try:
        with open("/proc/cpuinfo") as handle:
            first = handle.read().split("\n\n")[0]
    except OSError:
        return platform.processor() or platform.machine()
    fields = dict(line.split(":", 1) for line in first.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = fields.get("flags", "").split()
    vector = next((name for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"))
                   if flag in flags), "no AVX2")  # fmt: skip
    return (f"{fields.get('model name', '?')} (family {fields.get('cpu family', '?')}, "
            f"model {fields.get('model', '?')}, {vector})")  # fmt: skip


def header(title: str, peak: bool = True) -> dict[str, float]:
    """Print what ran where; return the one-thread peaks {dtype: GF/s} (empty if not measured)."""
    print(f"# {title}")
    print(f"command: {' '.join([os.path.basename(sys.argv[0]), *sys.argv[1:]])}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"cpu: {cpu_name()}, {os.cpu_count()} cores; load average {load}")
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    for lib in blas_libraries():
        if lib["user_api"] != "blas":
            continue
        print(f"{lib['user_api']}: {lib['internal_api']} {lib['version']}, "
              f"kernel {lib['architecture'] or '-'}, {lib['num_threads']} threads")  # fmt: skip
    peaks = {}
    if peak:
        peaks = {dtype: matmul_peak(dtype) for dtype in ("float64", "float32")}
        print("one-thread matmul peak (2048², best of 5): "
              f"{peaks['float64']:.1f} GF/s float64, {peaks['float32']:.1f} GF/s float32")  # fmt: skip
    print(flush=True)
    return peaks


def table(columns: list[str], rows: list[list]) -> None:
    """Print a Markdown table (what docs/ holds), numbers right-aligned."""
    print("| " + " | ".join(columns) + " |")
    print("| " + " | ".join("---" if i == 0 else "---:" for i in range(len(columns))) + " |")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print(flush=True)
