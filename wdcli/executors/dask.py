"""The Dask executor, units on a Dask distributed cluster."""

from __future__ import annotations

import atexit
import contextlib
import logging
import sys
import threading
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

HANDSHAKE_GRACE = 5.0  # s beyond Client's connect timeout before a silent peer is given up


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
        self.client = _connect(distributed, address, timeout)
        # distributed logs its own tracebacks when the scheduler goes away; the sweep says it
        # in one line (ExecutorError), so its log stays quiet while this client lives
        self._log_levels = _quiet_logs("distributed")
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
            facts = self.client.run(_worker_facts)  # {worker: (host, cores, nthreads, version)}
            self.workers = max(1, sum(self.client.nthreads().values()))
        except Exception as exc:  # most often: the workers cannot import wdcli
            self.close()
            raise ExecutorError(
                f"--address {address}: the Dask workers cannot run wdcli ({_first_line(exc)}); "
                "install the same wdcli on every worker: pip install 'wdcli[dask]'"
            ) from None
        from wdcli import versions

        self.versions = versions()
        others = {worker: fact[3] for worker, fact in facts.items() if fact[3] != self.versions}
        if others:
            self.close()
            worker, theirs = next(iter(others.items()))
            raise ExecutorError(
                f"--address {address}: {len(others)} Dask worker(s) run another install "
                f"({worker}: {_other_versions(theirs, self.versions)}): their numbers would "
                "differ; install the same wdcli, numpy and scikit-learn on every worker"
            )
        self.threads = _threads_per_host(facts)

    def run(self, fn: Callable, config, units, load: Callable) -> Iterator[list[dict]]:
        from distributed import as_completed

        client, todo = self.client, deque(units)
        left = Counter(unit.data_key for unit in units)  # units still to finish, per dataset
        data, lost, running = {}, Counter(), {}  # type: ignore[var-annotated]
        finished_ok = False

        def submit(unit) -> None:
            if client.status != "running":  # the scheduler went away: its futures were cancelled
                raise ExecutorError(f"--address {self.address}: lost the Dask scheduler")
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
                                       self.threads, self.versions, pure=False)  # fmt: skip
                running[future] = unit
                stream.add(future)

        stream = as_completed(loop=client.loop)
        try:
            # A window of units in flight: data is built and sent only for the seeds at hand.
            for _ in range(min(len(todo), 2 * self.workers)):
                submit(todo.popleft())
            for future in stream:
                unit = running.pop(future)
                try:
                    runs = _outcome(future)
                except OSError:  # gathering it: the scheduler went away (CommClosedError)
                    if future.status == "error":  # the unit's own
                        raise
                    raise ExecutorError(
                        f"--address {self.address}: lost the Dask scheduler"
                    ) from None
                if runs is None:  # lost with a worker: run it again (or give up)
                    _count_loss(lost, unit, None, "Dask worker",
                                "fewer workers per machine, each with more memory")  # fmt: skip
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
            if not finished_ok and client.status == "running":  # released before it goes
                client.cancel([*running, *data.values()])
            self.close()

    def _scatter(self, data):
        """Send data to a worker; a worker that died a moment ago costs another try."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self.client.scatter(data, hash=False)
            except Exception as exc:
                self._refuse_if_gone(exc)
                if not isinstance(exc, OSError):  # e.g. a worker that joined later cannot
                    raise ExecutorError(  # import wdcli
                        f"--address {self.address}: cannot send data to the Dask workers "
                        f"({_first_line(exc)}); install the same wdcli on every worker"
                    ) from None
                if attempt == MAX_ATTEMPTS:  # the connection to the chosen worker closed
                    raise ExecutorError(
                        f"--address {self.address}: cannot send data to the Dask workers "
                        f"({_first_line(exc)})"
                    ) from None
                time.sleep(0.2 * attempt)
        raise AssertionError("unreachable")

    def _refuse_if_gone(self, exc: Exception) -> None:
        """The one-line error of a scheduler that went away, or whose workers all did, while
        data was being sent (they read as "'NoneType' object has no attribute 'scatter'" and
        "No valid workers found", with advice to reinstall)."""
        client = self.client
        if client is None or client.status != "running":
            raise ExecutorError(f"--address {self.address}: lost the Dask scheduler") from None
        if "No valid workers" in str(exc):
            raise ExecutorError(
                f"--address {self.address}: the scheduler has no workers left (they were "
                f"lost); start some with `dask worker {self.address}`"
            ) from None

    def close(self) -> None:
        client, self.client = getattr(self, "client", None), None
        if client is not None:
            with contextlib.suppress(Exception):  # a scheduler gone already: nothing to close
                client.close(timeout=CONNECT_TIMEOUT)
            for name, level in self._log_levels.items():
                logging.getLogger(name).setLevel(level)


def _connect(distributed, address: str, timeout: float):
    """A Client of the scheduler at `address`, or one line saying why not. Client's own timeout
    covers opening the connection, not the handshake after it: a port where something else
    listens (the dashboard's, next to the scheduler's) would hang for good, so the whole
    connection gets a wall-clock limit of its own (a thread that is left behind if need be)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    scheme = address.partition("://")[0] if "://" in address else ""
    if scheme in ("http", "https"):  # the dashboard's URL, as a browser shows it
        raise ExecutorError(
            f"--address {address}: {scheme}:// is the dashboard's; a Dask scheduler's address "
            "is tcp://host:8786"
        )
    from distributed.comm.registry import backends

    if scheme and scheme not in backends:
        raise ExecutorError(
            f"--address {address}: unknown scheme {scheme}://; a Dask scheduler's address is "
            "tcp://host:8786 (or tls://, ws://, wss://)"
        )
    try:
        _, port = parse_host_port(parse_address(address)[1])
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"port {port} is not a port (1–65535)")
    except ValueError as exc:
        raise ExecutorError(f"--address: {exc}; expected e.g. tcp://host:8786") from None
    outcome: dict = {}

    def connect() -> None:
        try:
            outcome["client"] = distributed.Client(address, timeout=timeout, set_as_default=False)
        except BaseException as exc:  # reported below, in the calling thread
            outcome["error"] = exc

    thread = threading.Thread(target=connect, name="wdcli-dask-connect", daemon=True)
    thread.start()
    thread.join(timeout + HANDSHAKE_GRACE)
    error: BaseException | None = outcome.get("error")
    if "client" in outcome:
        return outcome["client"]
    _quiet_client_cleanup()  # the half-made Client's __del__ would print a traceback at exit
    if error is None or not isinstance(error, (OSError, TimeoutError)):
        if error is None:  # still waiting
            why = f"no Dask handshake within {timeout + HANDSHAKE_GRACE:g} s"
        elif isinstance(error, MemoryError):  # a stranger's bytes read as a frame's length
            why = "its reply is not a Dask message"
        else:
            why = f"{type(error).__name__}: {_first_line(error)}"
        raise ExecutorError(
            f"--address {address}: something answers there, but not as a Dask scheduler "
            f"({why}); the scheduler listens on port 8786 by default (8787 is its dashboard)"
        )
    raise ExecutorError(
        f"--address {address}: no Dask scheduler answered within {timeout:g} s; start "
        "one with `dask scheduler` (see docs/cluster.md) or check the address"
    )


def _quiet_logs(prefix: str) -> dict[str, int]:
    """Raise the loggers under `prefix` (distributed sets levels on its children) to CRITICAL;
    their levels before, to restore."""
    names = [prefix] + [name for name in logging.root.manager.loggerDict
                        if name.startswith(prefix + ".")]  # fmt: skip
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return levels


def _quiet_client_cleanup() -> None:
    """Drop the 'Exception ignored in Client.__del__' report of a Client that never connected
    (it tries to close a connection that never was); other such reports pass as before."""
    default = sys.unraisablehook

    def hook(unraisable) -> None:
        if getattr(unraisable.object, "__qualname__", "") != "Client.__del__":
            default(unraisable)

    sys.unraisablehook = hook


def _threads_per_host(facts: dict) -> dict[str, int]:
    """BLAS threads per unit on each host: its cores over the worker threads it runs."""
    cores, slots = {}, Counter()  # type: ignore[var-annotated]
    for host, host_cores, nthreads, _ in facts.values():
        cores[host] = host_cores
        slots[host] += nthreads
    return {host: max(1, cores[host] // slots[host]) for host in cores}


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


def _worker_facts(dask_worker) -> tuple[str, int, int, dict]:
    """(host, cores, threads, versions) of a Dask worker (`Client.run` passes it as
    dask_worker)."""
    from wdcli import versions

    return _host(dask_worker.address), cpu_count(), dask_worker.state.nthreads, versions()


def _other_versions(theirs: dict, ours: dict) -> str:
    """'wdcli 0.2.0 where this is 0.1.0; …': the versions of a worker that differ."""
    return "; ".join(
        f"{name} {theirs.get(name)} where this is {ours[name]}"
        for name in ours
        if theirs.get(name) != ours[name]
    )


def _host(address: str) -> str:
    return address.split("://")[-1].rsplit(":", 1)[0]


def _run_on_worker(fn: Callable, config, unit, data, threads: dict[str, int], wanted: dict):
    """A unit on a Dask worker, with the dataset already there and BLAS threads capped; a
    worker that joined after the start-up check with another install refuses it."""
    from distributed import get_worker

    from wdcli import versions

    worker = get_worker().address
    if versions() != wanted:
        raise ExecutorError(
            f"a Dask worker that joined during the sweep runs another install ({worker}: "
            f"{_other_versions(versions(), wanted)}): its numbers would differ; stop it, "
            "install the same wdcli, numpy and scikit-learn on every worker"
        )
    return _capped(fn, threads.get(_host(worker), 1), config, unit, data)
