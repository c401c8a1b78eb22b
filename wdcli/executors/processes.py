"""The processes executor: units on local worker processes (loky) that die with their parent."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from wdcli.executors.common import THREAD_VARIABLES, _capped, _count_loss, cpu_count

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies (Linux)


def _start_worker(warm: Callable[[], None] | None, parent: int) -> None:
    """A new worker process: it dies with its parent (`_die_with`); Ctrl-C is left to the
    parent (which stops the workers, with no tracebacks); `warm` (the sweep's: importing the
    model's code) runs while the parent builds the data."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C that came while it started: gone
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by `_spawning`
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


def _start_trackers() -> None:
    """Start loky's resource trackers (its own and multiprocessing's) deaf to SIGHUP.

    They share this process's group, so a closing terminal or `timeout -s HUP` signals them
    too. They ignore SIGINT and SIGTERM, but SIGHUP killed them: the next semaphore this
    process released relaunched one, with a warning, and the new tracker printed a KeyError
    traceback for every semaphore it had never seen. A tracker keeps the signal mask it starts
    with and unblocks only SIGINT and SIGTERM, so SIGHUP blocked here stays blocked in it
    (here it is only delayed until the block ends). It still exits when this process does: its
    pipe from here closes.
    """
    if not hasattr(signal, "SIGHUP"):  # Windows: no hang-up to shield them from
        return
    from multiprocessing import resource_tracker as stdlib_tracker

    from joblib.externals.loky.backend import resource_tracker

    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        resource_tracker.ensure_running()
        stdlib_tracker.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def _spawning() -> Iterator[None]:
    """Block SIGINT in this thread while loky starts the workers and its manager thread
    (which starts any replacement): they inherit the mask, so a Ctrl-C to the process group
    while a worker still imports no longer prints its KeyboardInterrupt traceback; the worker
    then ignores SIGINT and unblocks it (`_start_worker`). Here the signal is only delayed.
    The resource trackers must be running first (`_start_trackers`): starting one unblocks
    SIGINT in the calling thread (Python 3.11's multiprocessing)."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no process-group Ctrl-C to shield
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


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
        self._pool()

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

        _start_trackers()  # before loky starts them itself
        with _spawning():
            self._current = get_reusable_executor(
                max_workers=self.workers,
                timeout=60,  # idle workers stay a minute, for the next sweep in this process
                initializer=_start_worker,
                initargs=(self.warm, os.getpid()),
                env=dict.fromkeys(THREAD_VARIABLES, str(self.threads)),
            )
            self._current.submit(_nothing)  # the workers start now, inside the block
        return self._current

    def run(
        self, fn: Callable, config, units, load: Callable | None = None
    ) -> Iterator[list[dict]]:
        """Without `load`, each worker builds its unit's data itself."""
        if not units:
            return
        from concurrent.futures import FIRST_COMPLETED, wait

        from joblib.externals.loky.process_executor import BrokenProcessPool

        from wdcli.executors import progress

        fn = progress.forwarded(fn)  # steps and best accuracy to a watching terminal
        pool, todo, running, lost = self._pool(), deque(units), {}, Counter()  # type: ignore[var-annotated]
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
