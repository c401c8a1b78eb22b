"""Executors run work units and yield each unit's runs as soon as it finishes."""

from __future__ import annotations

from collections.abc import Callable, Iterator


class SerialExecutor:
    """Runs the units one after another in this process."""

    name = "serial"

    def run(self, fn: Callable, config, units) -> Iterator[list[dict]]:
        for unit in units:
            yield fn(config, unit)


EXECUTORS = {"serial": SerialExecutor}


def make_executor(name: str = "serial", jobs: int | None = None, address: str | None = None):
    """The executor called `name`."""
    return EXECUTORS[name or "serial"]()
