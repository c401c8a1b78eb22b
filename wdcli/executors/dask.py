"""The Dask executor, units on a Dask distributed cluster."""

from __future__ import annotations

import atexit
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator

from wdcli.errors import ExecutorError
from wdcli.executors.common import (
    CONNECT_TIMEOUT,
    MAX_ATTEMPTS,
    WORKERS_TIMEOUT,
    _capped,
    _count_loss,
    _first_line,
    cpu_count,
)
from wdcli.interrupts import deferred


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
        cores, slots = {}, Counter()  # type: ignore[var-annotated]
        for host, host_cores, nthreads in facts.values():
            cores[host] = host_cores
            slots[host] += nthreads
        return {host: max(1, cores[host] // slots[host]) for host in cores}

    def run(self, fn: Callable, config, units, load: Callable) -> Iterator[list[dict]]:
        from distributed import as_completed

        client, todo = self.client, deque(units)
        left = Counter(unit.data_key for unit in units)  # units still to finish, per dataset
        data, lost, running = {}, Counter(), {}  # type: ignore[var-annotated]
        finished_ok = False

        def submit(unit) -> None:
            built = None
            if unit.data_key not in data:  # built here once, sent to the workers that need it
                built = load(config, unit)
            # A stop signal waits for the end of this block: cut halfway through sending the
            # data, the data reached the scheduler after the client had gone, and stayed on
            # the cluster for good.
            with deferred():
                if built is not None:
                    data[unit.data_key] = self._scatter(built)
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
            if not finished_ok:  # the units and their data, released before the client goes
                client.cancel([*running, *data.values()])
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
        client, self.client = getattr(self, "client", None), None  # type: ignore[assignment]
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
