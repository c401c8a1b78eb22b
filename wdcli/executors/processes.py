"""Executors: where the work units of a sweep run.

`run(fn, config, units, load)` calls `fn(config, unit)` for every unit (elsewhere than here
with `load(config, unit)`, the unit's dataset, as a third argument) and yields each unit's runs
as soon as that unit finishes, in the order they finish, so that the caller journals them at
once. `workers` is how many units run at the same time; the caller cuts its grid into enough
units to keep them busy. Executors know nothing of sweeps: what a unit is, how it trains and
where its data comes from are the callables they are given (the sweep gives `run_unit` and
`unit_dataset`).

- serial: this process, one unit after another; BLAS may use every core.
- processes: `jobs` local worker processes (loky), each capped at cores // jobs BLAS threads so
  that together they never oversubscribe the cores.
- dask: a Dask distributed cluster; units are submitted as the cluster frees up.

For both, each seed's dataset is built here once and sent with its units (scattered, for
Dask), and a unit lost with its worker is run again.

Dask and loky are imported only when used.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator

from wdcli.errors import ExecutorError

CONNECT_TIMEOUT = 5  # seconds to reach a Dask scheduler before giving up
WORKERS_TIMEOUT = 10  # seconds to wait for a scheduler without workers to get one
MAX_ATTEMPTS = 4  # times a unit may be lost with its worker before the sweep stops
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies (Linux)
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


class SerialExecutor:
    """Runs the units one after another in this process."""

    name = "serial"
    workers = 1

    def run(
        self, fn: Callable, config, units, load: Callable | None = None
    ) -> Iterator[list[dict]]:
        for unit in units:
            yield fn(config, unit)

    def close(self) -> None:
        """Nothing runs elsewhere."""


# --------------------------------------------------------------------------- processes


def _start_worker(warm: Callable[[], None] | None, parent: int) -> None:
    """A new worker process: it dies with its parent (`_die_with`); Ctrl-C is left to the
    parent (which stops the workers, with no tracebacks); `warm` (the sweep's: importing the
    model's code) runs while the parent builds the data."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if warm is not None:
        warm()


def _die_with(parent: int) -> None:
    """End this process as soon as `parent` dies, however it dies (kill -9 included).

    Loky's workers otherwise notice only when their unit ends and the queue stays empty for
    the pool's timeout: minutes of orphans holding the terminal's output open. On Linux the
    kernel sends SIGKILL at the parent's death (PR_SET_PDEATHSIG, set on the thread that
    spawns workers: wdcli's main thread, or loky's manager thread while the pool lives);
    elsewhere a thread checks every half second whether the worker was orphaned.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _nothing() -> None:
    """A task that makes the pool start its workers."""


class ProcessExecutor:
    """Runs the units on `jobs` local worker processes, cores // jobs BLAS threads each.

    Each seed's dataset is built once, here, and sent with its units, so that the workers
    need neither the data files nor the libraries that generate data.
    """

    name = "processes"

    def __init__(self, jobs: int, warm: Callable[[], None] | None = None):
        self.workers = jobs
        self.threads = max(1, cpu_count() // jobs)
        self.warm = warm  # run by each worker as it starts (picklable)
        self.note: str | None = None  # why fewer workers run than --jobs asked for
        self._current = None

    def start(self) -> None:
        """Start the worker processes now, so that they import while this one prepares."""
        self._pool().submit(_nothing)

    def close(self) -> None:
        """Stop the worker processes (killing any still running a unit) and wait until they
        are gone.

        The workers are killed here, and the pool then shuts down as one whose workers died
        (loky's well-trodden path). loky's own `shutdown(kill_workers=True)` races with a
        unit submitted a moment before: its manager thread dies with a KeyError traceback,
        measured in 14 of 30 tries.
        """
        pool, self._current = self._current, None
        if pool is None:
            return
        workers = getattr(pool, "_processes", None)  # {pid: process}
        if workers is None:  # a loky without it: its own way
            pool.shutdown(wait=True, kill_workers=True)
            return
        for pid in list(workers):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pool.shutdown(wait=True)

    def _pool(self):
        from joblib.externals.loky import get_reusable_executor

        self._current = get_reusable_executor(
            max_workers=self.workers,
            timeout=60,  # idle workers stay a minute, for the next sweep in this process
            initializer=_start_worker,
            initargs=(self.warm, os.getpid()),
            env=dict.fromkeys(THREAD_VARIABLES, str(self.threads)),
        )
        return self._current

    def run(
        self, fn: Callable, config, units, load: Callable | None = None
    ) -> Iterator[list[dict]]:
        """Without `load`, each worker builds its unit's data itself."""
        if not units:
            return
        from concurrent.futures import FIRST_COMPLETED, wait

        from joblib.externals.loky.process_executor import BrokenProcessPool

        from wdcli import progress

        fn = progress.forwarded(fn)  # steps and best accuracy to a watching terminal
        pool, todo, running, lost = self._pool(), deque(units), {}, Counter()
        finished = False
        try:
            while todo or running:
                # A window of units in flight: data is built only for the seeds at hand.
                while todo and len(running) < 2 * self.workers:
                    unit = todo.popleft()
                    args = (config, unit) if load is None else (config, unit, load(config, unit))
                    try:
                        future = pool.submit(_capped, fn, self.threads, *args)
                    except BrokenProcessPool as exc:  # it broke since the last wait
                        _count_loss(lost, unit, exc, "worker process")
                        todo.appendleft(unit)
                        pool = self._pool()
                        continue
                    running[future] = unit
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    unit = running.pop(future)
                    try:
                        runs = future.result()
                    except BrokenProcessPool as exc:  # a worker died: the pool's units are lost
                        _count_loss(lost, unit, exc, "worker process")
                        todo.appendleft(unit)
                        pool = self._pool()  # a new pool replaces the broken one
                        continue
                    yield runs
            finished = True
        finally:
            if not finished:  # an error or a signal: stop the units still running, now
                self.close()


def _count_loss(lost: Counter, unit, exc: BaseException | None, where: str) -> None:
    """Count a unit lost with its worker; give up (ExecutorError) at MAX_ATTEMPTS losses."""
    lost[unit] += 1
    if lost[unit] >= MAX_ATTEMPTS:
        reason = f" ({_first_line(exc)})" if exc is not None else ""
        raise ExecutorError(
            f"a unit (seed {unit.seed}, fold {unit.fold}, {len(unit.lambdas)} λ) was lost {lost[unit]} times with "
            f"its {where}{reason}; the runs finished so far are in the journal, continue with "
            "--resume once the cause is fixed (out of memory? fewer --jobs)"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".:") if text else type(exc).__name__


# --------------------------------------------------------------------------- dask


class DaskExecutor:
    """Runs the units on a Dask distributed cluster, streaming results back as they finish.

    Connecting happens here, before the sweep writes anything, so an unreachable scheduler
    costs nothing: the error is one line and a journal being resumed is left as it was.
    """

    name = "dask"

    def __init__(self, address: str, timeout: float = CONNECT_TIMEOUT):
        try:
            import distributed
        except ImportError:
            raise ExecutorError(
                "--executor dask needs Dask's distributed scheduler: pip install 'wdcli[dask]'"
            ) from None
        self.address = address
        try:
            self.client = distributed.Client(address, timeout=timeout, set_as_default=False)
        except ValueError as exc:
            raise ExecutorError(f"--address: {exc}; expected e.g. tcp://host:8786") from None
        except (OSError, TimeoutError):
            raise ExecutorError(
                f"--address {address}: no Dask scheduler answered within {timeout:g} s; start "
                "one with `dask scheduler` (see docs/cluster.md) or check the address"
            ) from None
        atexit.register(self.close)
        try:
            self.client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except TimeoutError:
            self.close()
            raise ExecutorError(
                f"--address {address}: the scheduler has no workers; start some with "
                f"`dask worker {address}`"
            ) from None
        try:
            self.threads = self._threads_per_host()
            self.workers = max(1, sum(self.client.nthreads().values()))
        except Exception as exc:  # most often: the workers cannot import wdcli
            raise ExecutorError(
                f"--address {address}: the Dask workers cannot run wdcli ({_first_line(exc)}); "
                "install the same wdcli on every worker: pip install 'wdcli[dask]'"
            ) from None
        finally:
            if not hasattr(self, "workers"):
                self.close()

    def _threads_per_host(self) -> dict[str, int]:
        """BLAS threads per unit on each host: its cores over the worker threads it runs."""
        facts = self.client.run(_worker_facts)  # {worker address: (host, cores, nthreads)}
        cores, slots = {}, Counter()
        for host, host_cores, nthreads in facts.values():
            cores[host] = host_cores
            slots[host] += nthreads
        return {host: max(1, cores[host] // slots[host]) for host in cores}

    def run(self, fn: Callable, config, units, load: Callable) -> Iterator[list[dict]]:
        from distributed import as_completed

        client, todo = self.client, deque(units)
        left = Counter(unit.data_key for unit in units)  # units still to finish, per dataset
        data, lost, running = {}, Counter(), {}
        finished_ok = False

        def submit(unit) -> None:
            if unit.data_key not in data:  # built here once, sent to the workers that need it
                data[unit.data_key] = self._scatter(load(config, unit))
            future = client.submit(_run_on_worker, fn, config, unit, data[unit.data_key],
                                   self.threads, pure=False)  # fmt: skip
            running[future] = unit
            stream.add(future)

        stream = as_completed(loop=client.loop)
        try:
            # A window of units in flight: data is built and sent only for the seeds at hand.
            for _ in range(min(len(todo), 2 * self.workers)):
                submit(todo.popleft())
            for future in stream:
                unit = running.pop(future)
                runs = _outcome(future)
                if runs is None:  # lost with a worker: run it again (or give up)
                    _count_loss(lost, unit, None, "Dask worker")
                    data.pop(unit.data_key, None)  # its data may have gone with the worker
                    submit(unit)
                    continue
                left[unit.data_key] -= 1
                if left[unit.data_key] == 0:
                    data.pop(unit.data_key, None)  # no unit needs it any more: the cluster drops it
                if todo:
                    submit(todo.popleft())
                yield runs
            finished_ok = True
        finally:
            if not finished_ok:
                client.cancel(list(running))
            self.close()

    def _scatter(self, data):
        """Send data to a worker; a worker that died a moment ago costs another try."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self.client.scatter(data, hash=False)
            except OSError as exc:  # the connection to the chosen worker closed
                if attempt == MAX_ATTEMPTS:
                    raise ExecutorError(
                        f"--address {self.address}: cannot send data to the Dask workers "
                        f"({_first_line(exc)}); the runs finished so far are in the journal, "
                        "continue with --resume"
                    ) from None
                time.sleep(0.2 * attempt)

    def close(self) -> None:
        client, self.client = getattr(self, "client", None), None
        if client is not None:
            client.close(timeout=CONNECT_TIMEOUT)


def _outcome(future) -> list[dict] | None:
    """A finished unit's runs; None when it was lost with a worker (its result too); the
    unit's own error is raised."""
    from concurrent.futures import CancelledError

    from distributed import KilledWorker

    if future.status == "error" and not isinstance(future.exception(), KilledWorker):
        return future.result()  # raises the unit's own exception
    try:
        return future.result()
    except (CancelledError, KilledWorker):
        return None


def _worker_facts(dask_worker) -> tuple[str, int, int]:
    """(host, cores, threads) of a Dask worker (`Client.run` passes it as dask_worker)."""
    return _host(dask_worker.address), cpu_count(), dask_worker.state.nthreads


def _host(address: str) -> str:
    return address.split("://")[-1].rsplit(":", 1)[0]


def _run_on_worker(fn: Callable, config, unit, data, threads: dict[str, int]):
    """A unit on a Dask worker, with the dataset already there and BLAS threads capped."""
    from distributed import get_worker

    return _capped(fn, threads.get(_host(get_worker().address), 1), config, unit, data)


EXECUTORS: dict[str, type] = {
    "serial": SerialExecutor,
    "processes": ProcessExecutor,
    "dask": DaskExecutor,
}
