"""The serial executor, the units one after another in this process."""

from __future__ import annotations

from collections.abc import Callable, Iterator


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
