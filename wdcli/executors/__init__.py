"""Executors: where the work units of a sweep run (one module each; progress.py relays the
progress of units running elsewhere).

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

from wdcli.executors.common import cpu_count
from wdcli.executors.dask import DaskExecutor
from wdcli.executors.processes import ProcessExecutor
from wdcli.executors.serial import SerialExecutor

EXECUTORS: dict[str, type[SerialExecutor | ProcessExecutor | DaskExecutor]] = {
    "serial": SerialExecutor,
    "processes": ProcessExecutor,
    "dask": DaskExecutor,
}

__all__ = ["EXECUTORS", "DaskExecutor", "ProcessExecutor", "SerialExecutor", "cpu_count"]
