"""Which executor a sweep runs on by default, and how many workers it can use.

The cost model is the sweep's (it knows the model and the grid); the measured rule it feeds is
in docs/scale.md (benchmarks/bench_executors.py).
"""

from __future__ import annotations

import math

from wdcli.executors import cpu_count
from wdcli.models import MODELS
from wdcli.models.costs import Shape

# Below this much work (multiply-adds, `sweep_work`) an MLP sweep trains in a second or two in
# one process, and starting worker processes (each importing numpy and wdcli) costs about what
# they save: measured break-even near 2.6e10 (benchmarks/bench_executors.py, docs/scale.md).
PROCESSES_MIN_WORK = 2e10


def sweep_work(config) -> float:
    """Multiply-adds of the whole sweep's training, roughly, as its model's registry entry
    counts them (`work`: forward and backward GEMMs plus numpy's per-call overhead). 0 for
    models without it, whose cost is one factorisation or a few Newton steps per seed."""
    work = MODELS[config.model.name].work
    if work is None:
        return 0.0
    from wdcli.config.grid import key_space, point_config, tune_candidates
    from wdcli.sweep.datasets import dataset_for

    space = key_space(config)
    models = len(space.points) * len(tune_candidates(config))  # each point and candidate trains
    config = point_config(config, space.points[0])
    data = dataset_for(config, config.seed_values()[0])  # cached: the sweep reuses it
    n, d = data.X_train.shape
    outputs = data.n_classes if data.n_classes > 2 else 1  # softmax, or one output
    shape = Shape(n, len(data.y_test), d, outputs)
    per_unit = work(config.model, shape, len(space.lambdas))
    return per_unit * len(space.units) * models


def choose(config, cores: int | None = None) -> tuple[str, int]:
    """The default executor and its jobs, measured on 2 cores (docs/scale.md):

    - mlp (any model whose registry entry counts its `work`): processes, one per core,
      single-threaded, when the sweep is big enough to pay for starting them
      (PROCESSES_MIN_WORK): its GEMMs are small and run on one thread, so two processes train
      1.5-1.75× faster than one; serial otherwise.
    - linear and logistic: serial. A ridge path is one factorisation per seed and a logistic
      sweep a few Newton steps, both large GEMMs that BLAS threads already spread over the
      cores; processes measured from 0.5× (start-up dominates) to about 1.1×.
    """
    cores = cores or cpu_count()
    if config is None or cores < 2 or MODELS[config.model.name].work is None:
        return "serial", 1
    if sweep_work(config) < PROCESSES_MIN_WORK:
        return "serial", 1
    return "processes", cores


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
        from wdcli.config.grid import grid_points

        runs = len(config.lambda_values()) * len(config.seed_values()) * len(grid_points(config))
    wanted = cores if jobs in (None, -1) else jobs
    workers = int(max(1, min(wanted, cores, runs)))
    if workers == wanted or jobs in (None, -1):
        return workers, None
    if cores <= runs:
        reason = f"{_count(cores, 'CPU core')} available"
    else:
        reason = f"the sweep has {_count(runs, 'run')}"  # type: ignore[arg-type]
    return workers, f"--jobs {jobs}: using {_count(workers, 'worker process')} ({reason})"


def _count(n: int, thing: str) -> str:
    plural = "es" if thing.endswith("s") else "s"
    return f"{n} {thing}" if n == 1 else f"{n} {thing}{plural}"
