"""A sweep: the grid of λ × seeds cut into work units, run by an executor, journalled.

A work unit is one seed and a batch of its λ; `run_unit` trains that batch as one stacked
model and returns one run record per λ. Units are independent, so any executor can run them
in any order: the numbers of a run depend only on its (λ, seed) and the config.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from wdcli import grokking, progress
from wdcli.config import Config, task_of
from wdcli.data import Dataset, build_dataset
from wdcli.models import MODELS, check_task
from wdcli.results import build_document, dumps, now, write_atomic
from wdcli.store import Destination
from wdcli.summary import summarise


@dataclass(frozen=True)
class Unit:
    """One seed and a batch of its λ, trained together."""

    seed: int
    lambdas: tuple[float, ...]


def plan_units(config: Config, lambdas_per_unit: int | None = None, workers: int = 1) -> list[Unit]:
    """Every seed's λ grid, in chunks of lambdas_per_unit; by default in as few near-equal
    chunks as keep `workers` units running at once (one unit per seed for one worker)."""
    from wdcli.executors import chunks_per_seed

    lambdas, seeds = config.lambda_values(), config.seed_values()
    chunks = chunks_per_seed(len(seeds), len(lambdas), workers)
    size = lambdas_per_unit or -(-len(lambdas) // chunks) or 1
    return [
        Unit(seed, tuple(lambdas[i : i + size]))
        for seed in seeds
        for i in range(0, len(lambdas), size)
    ]


def split_done(units: list[Unit], done_runs: Iterable[dict]) -> tuple[list[Unit], list[dict]]:
    """(units still to run, runs kept): a unit counts as done only when all its runs are.

    A unit that was cut off halfway is run again whole, so that every run is computed in
    the same unit as in an uninterrupted sweep and the numbers are bit-identical."""
    done = {(run["lambda"], run["seed"]): run for run in done_runs}
    todo, kept = [], []
    for unit in units:
        keys = [(lam, unit.seed) for lam in unit.lambdas]
        if all(key in done for key in keys):
            kept += [done[key] for key in keys]
        else:
            todo.append(unit)
    return todo, kept


_DATA_CACHE: dict[tuple[str, int], Dataset] = {}


def dataset_for(config: Config, seed: int) -> Dataset:
    """The dataset of a seed, built once per process (all λ of a seed share it)."""
    data_seed = config.dataset.seed if config.dataset.seed is not None else seed
    key = (config.dataset.model_dump_json(), data_seed)
    if key not in _DATA_CACHE:
        if len(_DATA_CACHE) >= 8:
            _DATA_CACHE.pop(next(iter(_DATA_CACHE)))
        _DATA_CACHE[key] = build_dataset(config.dataset, seed)
    return _DATA_CACHE[key]


def run_unit(config: Config, unit: Unit, data: Dataset | None = None) -> list[dict]:
    """Train the unit's λ as one stacked model; one run record per λ, in the unit's order.

    `data` is the seed's dataset when the caller has it already (a Dask worker is sent it).
    """
    data = data if data is not None else dataset_for(config, unit.seed)
    check_task(config, data.task)
    fit = MODELS[config.model.name].fit_function()
    lambdas = np.asarray(unit.lambdas, dtype=float)
    hook = None
    if config.model.name == "mlp":
        step = "step" if config.model.batch_size == "full" else "epoch"
        hook = progress.evaluation_hook(unit.seed, unit.lambdas, step)
    start = time.perf_counter()
    result = fit(data, lambdas, unit.seed, config.model, **({"on_eval": hook} if hook else {}))
    seconds = (time.perf_counter() - start) / len(lambdas)
    fingerprint = data.fingerprint()
    runs = []
    for k, lam in enumerate(unit.lambdas):
        train, test, wsq = (
            float(a[k]) for a in (result.train_loss, result.test_loss, result.weight_sq_norm)
        )
        diverged = bool(result.diverged is not None and result.diverged[k])
        diverged = diverged or not all(math.isfinite(v) for v in (train, test, wsq))
        run = {
            "point": {},
            "lambda": lam,
            "seed": unit.seed,
            "fold": 0,
            "status": "diverged" if diverged else "ok",
            "train_loss": _number(train),
            "test_loss": _number(test),
            "penalty": _number(lam * wsq),
            "objective": _number(train + lam * wsq),
            "weight_sq_norm": _number(wsq),
        }
        run.update({name: _number(values[k]) for name, values in result.metrics.items()})
        run.update({"seconds": round(seconds, 6), "data_fingerprint": fingerprint})
        if result.curves is not None:
            run["curve"] = {"epoch": [int(e) for e in result.curves["epoch"]]}
            for name, values in result.curves.items():
                if name != "epoch":
                    run["curve"][name] = [_number(v) for v in values[k]]
            if getattr(config.model, "batch_size", None) == "full":
                run.update(grokking.run_fields(run["curve"]))
        runs.append(run)
    return runs


def _number(value):
    """A JSON-safe scalar: numpy → Python, non-finite floats → None."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def combined_fingerprint(runs: list[dict]) -> str:
    """One fingerprint for the data of all seeds (the seed's own when they share data)."""
    per_seed = sorted({(r["seed"], r["data_fingerprint"]) for r in runs})
    prints = {fp for _, fp in per_seed}
    if len(prints) == 1:
        return prints.pop()
    text = ";".join(f"{seed}:{fp}" for seed, fp in per_seed)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


ProgressCallback = Callable[[int, int], None]


def execute(
    config: Config,
    destination: Destination,
    executor,
    on_progress: ProgressCallback | None = None,
    lambdas_per_unit: int | None = None,
) -> dict:
    """Run what the journal does not have yet, then write and return the results document."""
    check_task(config)
    total = len(config.lambda_values()) * len(config.seed_values())
    planned = plan_units(config, lambdas_per_unit, getattr(executor, "workers", 1))
    units, runs = split_done(planned, destination.done_runs)
    journal = destination.journal
    stream = executor.run(run_unit, config, units)
    try:
        if on_progress:
            on_progress(len(runs), total)
        for unit_runs in stream:
            for run in unit_runs:
                journal.append(run)
            runs += unit_runs
            if on_progress:
                on_progress(len(runs), total)
        document = finish(config, runs, destination.started_at, executor.name)
        write_atomic(destination.results_path, dumps(document), overwrite=destination.overwrite)
        # Everything is in the results file now; removed while still locked, so that no
        # other sweep can take the journal up in between.
        with contextlib.suppress(OSError):  # e.g. a folder now read-only: the file is complete
            journal.path.unlink(missing_ok=True)
    finally:
        if hasattr(stream, "close"):
            stream.close()  # a failed append stops the workers now, not when collected
        journal.close()
    return document


def finish(config: Config, runs: list[dict], started_at: str, executor_name: str) -> dict:
    """The results document of a complete set of runs."""
    order = {lam: i for i, lam in enumerate(config.lambda_values())}
    seeds = {seed: i for i, seed in enumerate(config.seed_values())}
    runs = sorted(runs, key=lambda r: (order[r["lambda"]], seeds[r["seed"]]))
    summary, best, one_se = summarise(runs, config.tolerance)
    summary = [{"point": {}, **row} for row in summary]  # the key of DESIGN.md; no grid yet
    task = task_of(config.dataset) or dataset_for(config, runs[0]["seed"]).task
    return build_document(
        config=config.resolved(),
        config_hash=config.hash(),
        task=task,
        data_fingerprint=combined_fingerprint(runs),
        runs=runs,
        summary=summary,
        best_lambda=best,
        lambda_1se=one_se,
        started_at=started_at,
        finished_at=now(),
        executor=executor_name,
    )
