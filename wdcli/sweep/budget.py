"""Memory and time of a sweep, estimated before it starts.

A sweep whose arrays cannot fit in the machine's memory is refused, naming the config field
that makes them large (before anything is written: a MemoryError halfway would leave a
journal behind). A sweep that will take long is announced with a rough estimate of its time.
Each model's own costs are its registry entry's (wdcli.models.costs). The estimates are
deliberately coarse (within a factor of a few): they are there to catch
`hidden: [100000, 100000]`, not to plan a cluster.
"""

from __future__ import annotations

import os

from wdcli.config import Config
from wdcli.config.grid import grid_points, tune_candidates
from wdcli.errors import ConfigError
from wdcli.memory import available_memory, human
from wdcli.models import MODELS
from wdcli.models.costs import DATA, FLOAT, Shape

RUN_BYTES = 2_000  # a run record in memory (dict of ~15 numbers), its journal line, its JSON
RUN_SECONDS = 0.003  # per run beyond training: the record, and the journal's fsync
LONG_SECONDS = 600.0  # a sweep estimated above this is announced
CSV_EXPANSION = 20  # bytes of parsed cells (Python strings in lists) per byte of a CSV file


def lambda_count(config: Config) -> int:
    """λ in the grid (an automatic grid not chosen yet: the number asked for)."""
    grid = config.lambdas
    if getattr(grid, "auto", False) and grid.values is None:  # type: ignore[union-attr]
        return grid.num  # type: ignore[union-attr]
    return len(config.lambda_values())


def run_count(config: Config) -> int:
    """Runs of the sweep: grid points × λ × seeds × folds."""
    from wdcli.data.folds import fold_numbers

    per_point = lambda_count(config) * len(config.seed_values()) * len(fold_numbers(config))
    return len(grid_points(config)) * per_point


def duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.2g} {unit}"
    return f"{seconds:.2g} seconds"


def check_fits(parts: dict[str, tuple[float, str]], available: int | None = None) -> None:
    """Refuse (ConfigError) when the parts' bytes add up to more than is available, naming
    the field of the largest part: `parts` maps a field to (bytes, what those bytes hold)."""
    available = available if available is not None else available_memory()
    total = sum(nbytes for nbytes, _ in parts.values())
    if total <= available:
        return
    field, (nbytes, what) = max(parts.items(), key=lambda item: item[1][0])
    of_which = f" ({human(nbytes)} of it for {what})" if nbytes < 0.9 * total else f" for {what}"
    raise ConfigError(
        f"{field}: the sweep would need about {human(total)} of memory{of_which}, more than "
        f"the {human(available)} available; make it smaller"
    )


def data_parts(config: Config) -> dict[str, tuple[float, str]]:
    """Memory of building one seed's dataset, known from the config before it is built."""
    cfg = config.dataset
    if cfg.name == "csv":
        size = sum(_file_size(p) for p in (cfg.path, cfg.test_path) if p is not None)
        return {"dataset.path": (CSV_EXPANSION * size, "the CSV file's cells")}
    columns = getattr(cfg, "n_features", None) or getattr(cfg, "degree", None) or 2
    rows = cfg.n_samples or 0
    field = "dataset.n_samples" if rows >= columns else _columns_field(cfg)
    return {field: (4.0 * FLOAT * rows * columns, f"the data, {rows} × {columns} numbers")}


def _columns_field(cfg) -> str:
    return "dataset.degree" if hasattr(cfg, "degree") else "dataset.n_features"


def _file_size(path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def sweep_parts(
    config: Config, shape: Shape, lambdas_per_unit: int, workers: int, runs: int | None = None
):
    """Memory of the sweep once the data's shape is known: the data (a few seeds are kept),
    each running unit's model, and the run records kept until the results are written.
    For a grid point's config, `runs` is the whole sweep's (every point's records are kept)."""
    K = lambdas_per_unit
    n = shape.n_train + shape.n_test
    runs = run_count(config) if runs is None else runs
    data_field = "dataset.n_samples" if n >= shape.d else _columns_field(config.dataset)
    if config.dataset.name == "csv":
        data_field = "dataset.categorical" if config.dataset.categorical else "dataset.path"
    parts = {
        data_field: (8.0 * FLOAT * n * shape.d, f"the data ({n} × {shape.d}) of a few seeds"),
        "lambdas, seeds": (runs * RUN_BYTES, f"the records of {runs} runs"),
    }
    spec = MODELS[config.model.name]
    for field, (nbytes, what) in spec.memory(config.model, shape, K, workers, runs).items():
        if field == DATA:
            parts[data_field] = (parts[data_field][0] + nbytes, what)
        else:
            parts[field] = (nbytes, what)
    return parts


def shape_of(data) -> Shape:
    """The Shape of a built dataset (wdcli.data.Dataset)."""
    outputs = data.n_classes if data.n_classes > 2 else 1
    return Shape(len(data.y_train), len(data.y_test), data.X_train.shape[1], outputs)


def seconds(config: Config, shape: Shape, workers: int) -> float:
    """Rough wall time of a config's sweep (of one grid point's config: that point's runs):
    training work over a measured rate, plus the per-run cost of records and the journal."""
    lambdas, seeds = lambda_count(config), run_count(config) // lambda_count(config)
    name = config.model.name
    macs = MODELS[name].macs(config.model, shape, lambdas, seeds)
    rate = MODELS[name].macs_per_second * max(1, workers)
    return macs / rate + lambdas * seeds * RUN_SECONDS


def long_sweep_note(config: Config, estimate: float) -> str | None:
    """One line announcing a long sweep (every point of its grid) with its estimated time in
    seconds (the points' `seconds` added up), or None."""
    if estimate < LONG_SECONDS:
        return None
    points, lambdas = len(grid_points(config)), lambda_count(config)
    seeds = len(config.seed_values())
    folds = run_count(config) // (points * lambdas * seeds)
    per_point = f"{points} points × " if points > 1 else ""
    per_fold = f" × {folds} folds" if folds > 1 else ""
    tuned = f", each tuned over {len(tune_candidates(config))} candidates" if config.tune else ""
    return (
        f"note: {run_count(config)} runs ({per_point}{lambdas} λ × {seeds} "
        f"seed{'s' * (seeds != 1)}{per_fold}{tuned}) will take roughly {duration(estimate)} here "
        "(a coarse estimate); Ctrl-C stops it and --resume continues"
    )
