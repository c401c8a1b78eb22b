"""Executors: where the work units of a sweep run.

`run(fn, config, units)` calls `fn(config, unit)` (that is `wdcli.sweep.run_unit`; elsewhere
than here with the seed's dataset as a third argument) for every unit and yields each unit's
runs as soon as that unit finishes, in the order they finish, so that the sweep journals them
at once. `workers` is how many units run at the same time; the
sweep cuts its grid into enough units to keep them busy (`wdcli.sweep.plan_units`).

- serial: this process, one unit after another; BLAS may use every core.
- processes: `jobs` local worker processes (loky), each capped at cores // jobs BLAS threads so
  that together they never oversubscribe the cores.
- dask: a Dask distributed cluster; units are submitted as the cluster frees up.

For both, each seed's dataset is built here once and sent with its units (scattered, for
Dask), and a unit lost with its worker is run again.

Without --executor or --jobs, `choose` picks serial or processes by the measured rule in
docs/scale.md. Dask and loky are imported only when used.
"""

from __future__ import annotations

import atexit
import math
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from itertools import pairwise

from wdcli.errors import ExecutorError

CONNECT_TIMEOUT = 5  # seconds to reach a Dask scheduler before giving up
WORKERS_TIMEOUT = 10  # seconds to wait for a scheduler without workers to get one
MAX_ATTEMPTS = 4  # times a unit may be lost with its worker before the sweep stops
# Below this much work (multiply-adds, `sweep_work`) an MLP sweep trains in a second or two in
# one process, and starting worker processes (each importing numpy and wdcli) costs about what
# they save: measured break-even near 2.6e10 (benchmarks/bench_executors.py, docs/scale.md).
PROCESSES_MIN_WORK = 2e10
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies (Linux)
STEP_MACS = 2e6  # numpy's overhead per layer and mini-batch, as multiply-adds (about 0.2 ms)
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

    def run(self, fn: Callable, config, units) -> Iterator[list[dict]]:
        for unit in units:
            yield fn(config, unit)

    def close(self) -> None:
        """Nothing runs elsewhere."""


# --------------------------------------------------------------------------- processes


def _start_worker(model: str, parent: int) -> None:
    """A new worker process: it dies with its parent (`_die_with`); Ctrl-C is left to the
    parent (which stops the workers, with no tracebacks); the model's code is imported while
    the parent builds the data."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from wdcli.models import MODELS
    from wdcli.sweep import run_unit  # noqa: F401 - imported for the units to come

    MODELS[model].fit_function()


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

    def __init__(self, jobs: int, model: str = "linear"):
        self.workers = jobs
        self.threads = max(1, cpu_count() // jobs)
        self.model = model
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
            initargs=(self.model, os.getpid()),
            env=dict.fromkeys(THREAD_VARIABLES, str(self.threads)),
        )
        return self._current

    def run(self, fn: Callable, config, units) -> Iterator[list[dict]]:
        if not units:
            return
        from concurrent.futures import FIRST_COMPLETED, wait

        from joblib.externals.loky.process_executor import BrokenProcessPool

        from wdcli import progress
        from wdcli.sweep import unit_dataset

        fn = progress.forwarded(fn)  # steps and best accuracy to a watching terminal
        pool, todo, running, lost = self._pool(), deque(units), {}, Counter()
        finished = False
        try:
            while todo or running:
                # A window of units in flight: data is built only for the seeds at hand.
                while todo and len(running) < 2 * self.workers:
                    unit = todo.popleft()
                    data = unit_dataset(config, unit)
                    try:
                        future = pool.submit(_capped, fn, self.threads, config, unit, data)
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

    def run(self, fn: Callable, config, units) -> Iterator[list[dict]]:
        from distributed import as_completed

        from wdcli.sweep import unit_dataset

        client, todo = self.client, deque(units)
        left = Counter(unit.data_key for unit in units)  # units still to finish, per dataset
        data, lost, running = {}, Counter(), {}
        finished_ok = False

        def submit(unit) -> None:
            if unit.data_key not in data:  # built here once, sent to the workers that need it
                data[unit.data_key] = self._scatter(unit_dataset(config, unit))
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


# --------------------------------------------------------------------------- choosing


def sweep_work(config) -> float:
    """Multiply-adds of the whole sweep's training, roughly: forward and backward GEMMs plus
    STEP_MACS per layer and mini-batch for numpy's per-call overhead. 0 for models whose cost
    is one factorisation or a few Newton steps per seed."""
    if config.model.name != "mlp":
        return 0.0
    from wdcli.grid import grid_points, point_config, tune_candidates
    from wdcli.sweep import dataset_for

    points = grid_points(config)
    models = len(points) * len(tune_candidates(config))  # each point and candidate trains
    config = point_config(config, points[0])
    data = dataset_for(config, config.seed_values()[0])  # cached: the sweep reuses it
    n, d = data.X_train.shape
    outputs = data.n_classes if data.n_classes > 2 else 1  # softmax, or one output
    sizes = (d, *config.model.hidden, outputs)
    per_row = sum(a * b for a, b in pairwise(sizes))
    lambdas, seeds = len(config.lambda_values()), len(config.seed_values())
    steps = config.model.epochs * -(-n // config.model.batch_rows(n))
    per_seed = (
        3.0 * config.model.epochs * n * per_row * lambdas + steps * (len(sizes) - 1) * STEP_MACS
    )
    from wdcli.folds import fold_numbers

    return per_seed * seeds * len(fold_numbers(config)) * models


def choose(config, cores: int | None = None) -> tuple[str, int]:
    """The default executor and its jobs, measured on 2 cores (docs/scale.md):

    - mlp: processes, one per core, single-threaded, when the sweep is big enough to pay for
      starting them (PROCESSES_MIN_WORK): its GEMMs are small and run on one thread, so two
      processes train 1.5-1.75× faster than one; serial otherwise.
    - linear and logistic: serial. A ridge path is one factorisation per seed and a logistic
      sweep a few Newton steps, both large GEMMs that BLAS threads already spread over the
      cores; processes measured from 0.5× (start-up dominates) to about 1.1×.
    """
    cores = cores or cpu_count()
    if config is None or cores < 2 or config.model.name != "mlp":
        return "serial", 1
    if sweep_work(config) < PROCESSES_MIN_WORK:
        return "serial", 1
    return "processes", cores


def make_executor(name: str | None = None, jobs: int | None = None, address: str | None = None,
                  config=None):  # fmt: skip
    """The executor of the sweep command's --executor, --jobs and --address.

    --jobs N (N > 1) alone means processes; --address alone means dask; neither: `choose`.
    """
    if jobs is not None and (jobs == 0 or jobs < -1):
        raise ExecutorError(f"--jobs: must be ≥ 1, or -1 for all cores; got {jobs}")
    if name is None and address:
        name = "dask"
    if name is None and jobs not in (None, 1):
        name = "processes"
    if address and name != "dask":
        raise ExecutorError(f"--address: only for --executor dask, not {name}")
    if name == "dask":
        if jobs is not None:
            raise ExecutorError("--jobs: not with --executor dask (the cluster's workers decide)")
        if not address:
            raise ExecutorError("--executor dask needs --address, e.g. tcp://scheduler-host:8786")
        return DaskExecutor(address)
    if name is None:
        name, jobs = choose(config)
    if name == "processes":
        model = config.model.name if config is not None else "linear"
        workers, note = useful_jobs(jobs, config)
        executor = ProcessExecutor(workers, model)
        executor.note = note
        executor.start()
        return executor
    return SerialExecutor()


def useful_jobs(jobs: int | None, config=None, cores: int | None = None) -> tuple[int, str | None]:
    """(worker processes, a note or None): --jobs capped at the cores and at the sweep's runs.

    A process beyond the cores only shares a core with another (each also costs a start-up
    and memory), and one beyond the runs has nothing to do; more workers also cut the λ into
    smaller units, which train slower per model. An explicit --jobs N that is capped gets a
    note; -1 (all cores) and the default are capped silently.
    """
    cores = cores or cpu_count()
    runs = math.inf
    if config is not None:
        from wdcli.grid import grid_points

        runs = len(config.lambda_values()) * len(config.seed_values()) * len(grid_points(config))
    wanted = cores if jobs in (None, -1) else jobs
    workers = int(max(1, min(wanted, cores, runs)))
    if workers == wanted or jobs in (None, -1):
        return workers, None
    if cores <= runs:
        reason = f"{_count(cores, 'CPU core')} available"
    else:
        reason = f"the sweep has {_count(runs, 'run')}"
    return workers, f"--jobs {jobs}: using {_count(workers, 'worker process')} ({reason})"


def _count(n: int, thing: str) -> str:
    plural = "es" if thing.endswith("s") else "s"
    return f"{n} {thing}" if n == 1 else f"{n} {thing}{plural}"


EXECUTORS = {"serial": SerialExecutor, "processes": ProcessExecutor, "dask": DaskExecutor}


def chunks_per_seed(seeds: int, lambdas: int, workers: int, target: float = 0.9) -> int:
    """How many units to cut each seed's λ into, so that `workers` units run at once.

    S seeds cut into c chunks are S·c equal units run in ⌈S·c/W⌉ rounds on W workers, busy a
    fraction S·c / (W·⌈S·c/W⌉) of the time. The smallest c ≤ lambdas reaching `target` is
    taken (fewer, larger units train faster per model); W / gcd(S, W) always reaches 1.
    """
    best, best_busy = 1, 0.0
    for c in range(1, max(1, min(lambdas, workers // math.gcd(seeds, workers))) + 1):
        units = seeds * c
        busy = units / (workers * math.ceil(units / workers))
        if busy >= target:
            return c
        if busy > best_busy:
            best, best_busy = c, busy
    return best
