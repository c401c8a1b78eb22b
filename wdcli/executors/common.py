"""What every executor shares, the cores and BLAS threads a unit may use, and units lost with their worker."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from wdcli.errors import ExecutorError

CONNECT_TIMEOUT = 5  # seconds to reach a Dask scheduler before giving up


WORKERS_TIMEOUT = 10  # seconds to wait for a scheduler without workers to get one


MAX_ATTEMPTS = 4  # times a unit may be lost with its worker before the sweep stops


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")  # fmt: skip


def cpu_count() -> int:
    """The cores this process may use (affinity and container limits included)."""
    from joblib import cpu_count as joblib_cpu_count

    return max(1, joblib_cpu_count())


def _capped(fn: Callable, threads: int, *args):
    """fn(*args) with at most `threads` BLAS/OpenMP threads in this process."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return fn(*args)


# --------------------------------------------------------------------------- serial


def _count_loss(
    lost: Counter, unit, exc: BaseException | None, where: str, fewer: str = "fewer --jobs"
) -> None:
    """Count a unit lost with its worker; give up (ExecutorError) at MAX_ATTEMPTS losses.
    `fewer`: how to give each worker more memory, in this executor's terms."""
    lost[unit] += 1
    if lost[unit] >= MAX_ATTEMPTS:
        reason = f" ({_first_line(exc)})" if exc is not None else ""
        raise ExecutorError(
            f"a unit (seed {unit.seed}, fold {unit.fold}, {len(unit.lambdas)} λ) was lost "
            f"{lost[unit]} times with its {where}{reason}; resume once the cause is fixed (out "
            f"of memory? {fewer})"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".:") if text else type(exc).__name__


# --------------------------------------------------------------------------- dask
