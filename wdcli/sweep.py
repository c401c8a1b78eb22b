"""A sweep: the grid of λ × seeds × folds cut into work units, run by an executor, journalled.

A work unit is one seed, one fold and a batch of its λ; `run_unit` trains that batch as one
stacked model and returns one run record per λ. Units are independent, so any executor can run
them in any order: the numbers of a run depend only on its key (λ, seed, fold) and the config.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from wdcli import grokking, health, progress
from wdcli.config import CLASSIFICATION, Config, task_of
from wdcli.data import Dataset, Split, build_split
from wdcli.folds import fold_numbers
from wdcli.models import MODELS, check_task
from wdcli.results import build_document, dumps, now, write_atomic
from wdcli.store import Destination
from wdcli.summary import summarise


@dataclass(frozen=True)
class Unit:
    """One seed and fold and a batch of its λ, trained together."""

    seed: int
    lambdas: tuple[float, ...]
    fold: int = 0

    @property
    def data_key(self) -> tuple[int, int]:
        """(seed, fold): the units that share it train on the same data."""
        return self.seed, self.fold


def plan_units(config: Config, lambdas_per_unit: int | None = None, workers: int = 1) -> list[Unit]:
    """Every seed's λ grid, in chunks of lambdas_per_unit; by default in as few near-equal
    chunks as keep `workers` units running at once (one unit per seed for one worker)."""
    from wdcli.executors import chunks_per_seed

    lambdas, seeds, folds = config.lambda_values(), config.seed_values(), fold_numbers(config)
    chunks = chunks_per_seed(len(seeds) * len(folds), len(lambdas), workers)
    size = lambdas_per_unit or -(-len(lambdas) // chunks) or 1
    return [
        Unit(seed, tuple(lambdas[i : i + size]), fold)
        for seed in seeds
        for fold in folds
        for i in range(0, len(lambdas), size)
    ]


def split_done(units: list[Unit], done_runs: Iterable[dict]) -> tuple[list[Unit], list[dict]]:
    """(units still to run, runs kept): a unit counts as done only when all its runs are.

    A unit that was cut off halfway is run again whole, so that every run is computed in
    the same unit as in an uninterrupted sweep and the numbers are bit-identical."""
    done = {run_key(run): run for run in done_runs}
    todo, kept = [], []
    for unit in units:
        keys = [(lam, unit.seed, unit.fold) for lam in unit.lambdas]
        if all(key in done for key in keys):
            kept += [done[key] for key in keys]
        else:
            todo.append(unit)
    return todo, kept


def run_key(run: dict) -> tuple[float, int, int]:
    """(λ, seed, fold) of a run record; fold 0 for records written before folds existed."""
    return run["lambda"], run["seed"], run.get("fold", 0)


_SPLIT_CACHE: dict[tuple[str, int], Split] = {}
_DATA_CACHE: dict[tuple[str, str, int, int], Dataset] = {}


def _cached(cache: dict, key, build):
    if key not in cache:
        if len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[key] = build()
    return cache[key]


def split_for(config: Config, seed: int) -> Split:
    """The train/test split of a seed, before standardisation, built once per process."""
    data_seed = config.dataset.seed if config.dataset.seed is not None else seed
    key = (config.dataset.model_dump_json(), data_seed)
    return _cached(_SPLIT_CACHE, key, lambda: build_split(config.dataset, seed))


def dataset_for(config: Config, seed: int, fold: int = 0) -> Dataset:
    """The dataset of a seed's fold, built once per process (all λ of a fold share it)."""
    from wdcli.folds import fold_dataset

    split = split_for(config, seed)
    key = (config.dataset.model_dump_json(), config.validation.model_dump_json(), seed, fold)
    return _cached(_DATA_CACHE, key, lambda: fold_dataset(config, split, seed, fold))


def run_unit(config: Config, unit: Unit, data: Dataset | None = None) -> list[dict]:
    """Train the unit's λ as one stacked model; one run record per λ, in the unit's order.

    `data` is the seed's dataset when the caller has it already (a Dask worker is sent it).
    Each run gets its training-health `status` (wdcli.health); numerical trouble shows there,
    never as a floating point warning.
    """
    data = data if data is not None else dataset_for(config, *unit.data_key)
    check_task(config, data.task)
    fit = MODELS[config.model.name].fit_function()
    if unit.fold > 0 and config.validation.kind == "loo":
        from wdcli.models.linear import fit_ridge_loo as fit
    lambdas = np.asarray(unit.lambdas, dtype=float)
    hook = None
    if config.model.name == "mlp":
        step = "step" if config.model.batch_size == "full" else "epoch"
        hook = progress.evaluation_hook(unit.seed, unit.lambdas, step)
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        result = fit(data, lambdas, unit.seed, config.model, **({"on_eval": hook} if hook else {}))
    seconds = (time.perf_counter() - start) / len(lambdas)
    fingerprint = data.fingerprint()
    statuses = _statuses(result, data)
    baseline = health.baseline_loss(data.y_train, data.task == CLASSIFICATION)
    runs = []
    for k, lam in enumerate(unit.lambdas):
        train, test, wsq = (
            float(a[k]) for a in (result.train_loss, result.test_loss, result.weight_sq_norm)
        )
        status = statuses[k]
        if not all(math.isfinite(v) for v in (train, test, wsq)):
            status = health.DIVERGED
        if status == health.DIVERGED:  # numbers of a run that blew up mean nothing
            train = test = wsq = math.nan
        run = {
            "point": {},
            "lambda": lam,
            "seed": unit.seed,
            "fold": unit.fold,
            "status": status,
            "train_loss": _number(train),
            "test_loss": _number(test),
            "penalty": _number(result.loss_scale * lam * wsq),
            "objective": _number(train + result.loss_scale * lam * wsq),
            "weight_sq_norm": _number(wsq),
            "baseline_loss": _number(baseline),
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
        if result.pointwise is not None:
            run["pointwise_test_loss"] = [_number(v) for v in result.pointwise[k]]
        runs.append(run)
    return runs


def _statuses(result, data: Dataset) -> list[str]:
    """The training-health status of each of a fit's runs."""
    classification = data.task == CLASSIFICATION
    return health.statuses(
        result.train_loss,
        health.no_fit_threshold(data.y_train, classification),
        diverged=result.diverged,
        not_converged=result.not_converged,
    )


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
    runs = [r for r in runs if r.get("fold", 0) == 0]  # the whole split; folds are its parts
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
    total = len(config.lambda_values()) * len(config.seed_values()) * len(fold_numbers(config))
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
    runs = sorted(runs, key=lambda r: (order[r["lambda"]], seeds[r["seed"]], r.get("fold", 0)))
    summary, best, one_se = summarise(runs, config.tolerance)
    summary = [{"point": {}, **row} for row in summary]  # the key of DESIGN.md; no grid yet
    task = task_of(config.dataset) or dataset_for(config, runs[0]["seed"]).task
    document = build_document(
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
    document.update(selection_fields(config, task, runs, summary, best, one_se))
    return document


def selection_fields(config: Config, task: str, runs, summary, best, one_se) -> dict:
    """What the document says about how λ was chosen: validation, spreads, notes."""
    from wdcli.folds import is_cv
    from wdcli.selection import NO_DIFFERENCE, grid_notes
    from wdcli.summary import select_lambdas

    notes = grid_notes([row["lambda"] for row in summary], best)
    regimes = [row["regime"] for row in summary if row["regime"] is not None]
    if regimes and all(regime in ("flat", "diverged") for regime in regimes):
        notes.append(NO_DIFFERENCE)
    scaled = task == "regression" and config.dataset.scale_target is not False
    fields = {
        "validation": config.validation.model_dump(mode="json"),
        "target_scaling": scaled and config.model.name == "mlp",
        "lambda_1se_unpaired": select_lambdas(summary)[1],
        "notes": notes,
    }
    if is_cv(config):
        rows = {row["lambda"]: row for row in summary}
        fields["final_test_loss"] = {
            key: rows[lam].get("holdout_test_loss_mean") if lam is not None else None
            for key, lam in (("best_lambda", best), ("lambda_1se", one_se))
        }
    return fields
