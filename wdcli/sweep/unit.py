"""One work unit, its points × λ trained as stacked models, one run record per run key."""

from __future__ import annotations

import math

import numpy as np

from wdcli.config import CLASSIFICATION, Config
from wdcli.config.grid import point_config, tune_candidates
from wdcli.data import Dataset
from wdcli.executors import progress
from wdcli.metrics import grokking, health
from wdcli.models import MODELS
from wdcli.runkey import RunKey
from wdcli.sweep.datasets import unit_dataset
from wdcli.sweep.plan import Unit, check_task
from wdcli.sweep.stacking import carve, choose_candidate, fit_tuned, fit_variants


def run_unit(config: Config, unit: Unit, data: Dataset | None = None) -> list[dict]:
    """Train the unit's points × λ (× tune candidates) as few stacked models as the math
    allows; one run record per (point, λ), in the order of `unit.keys()`.

    `data` is the unit's dataset when the caller has it already (a Dask worker is sent it).
    Each run gets its training-health `status` (wdcli.metrics.health); numerical trouble shows there,
    never as a floating point warning.
    """
    data = data if data is not None else unit_dataset(config, unit)
    check_task(point_config(config, unit.points[0]), data.task)
    fit = None
    if unit.fold > 0 and config.validation.kind == "loo":
        from wdcli.models.linear import fit_ridge_loo as fit  # type: ignore[assignment]
    candidates = tune_candidates(config)
    variants = [(point, c) for point in unit.points for c in candidates]
    configs = [point_config(config, point, c) for point, c in variants]
    lambdas = np.asarray(unit.lambdas, dtype=float)
    hook = None
    if MODELS[config.model.name].reports_progress:
        step = "step" if config.model.batch_size == "full" else "epoch"
        hook = progress.evaluation_hook(unit.seed, unit.lambdas, step)
    extra = {"on_eval": hook} if hook else {}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        trained_on = data  # a tune trains on the rows left by carving: their baseline is its
        if config.tune:
            trained_on = carve(data, config.tune_holdout, unit.seed, configs[0].dataset.STANDARDISE)
            fits, elapsed = fit_tuned(configs, trained_on, lambdas, unit.seed, fit, **extra)
        else:
            fits, elapsed = fit_variants(configs, data, lambdas, unit.seed, fit, **extra)
    seconds = elapsed / len(unit.keys())
    fingerprint = data.fingerprint()
    runs = []
    for key in unit.keys():
        mine = [i for i, (point, _) in enumerate(variants) if point == key.point]
        k = unit.lambdas.index(key.lam)
        records = [run_record(key, fits[i], k, seconds, fingerprint, trained_on) for i in mine]
        best = choose_candidate(records) if config.tune else 0
        run = records[best]
        if "curve" in run and configs[mine[best]].model.batch_size == "full":
            run.update(grokking.run_fields(run["curve"]))
        if config.tune:
            run["tuned"] = candidates[best]
            run["tune_trials"] = [
                {"values": c, "status": trial["status"], "val_loss": trial["val_loss"],
                 "test_loss": _number(fits[i].test_loss[k])}
                for i, c, trial in zip(mine, candidates, records, strict=True)
            ]  # fmt: skip
        runs.append(run)
    return runs


def warm_worker(model: str) -> None:
    """Import a model's code and `run_unit`'s (in a worker process starting while the parent
    builds the data)."""
    MODELS[model].fit_function()


def run_record(
    key: RunKey, result, k: int, seconds: float, fingerprint: str, data: Dataset
) -> dict:
    """The record of run `key`: row k of a Fit, with its training-health status."""
    lam = key.lam
    train, test, wsq = (
        float(a[k]) for a in (result.train_loss, result.test_loss, result.weight_sq_norm)
    )
    status = _statuses(result, data)[k]
    reason = result.diverged_by[k] if result.diverged_by is not None else ""
    if not all(math.isfinite(v) for v in (train, test, wsq)):
        status, reason = health.DIVERGED, reason or health.BLEW_UP
    if status == health.DIVERGED:  # numbers of a run that blew up mean nothing
        train = test = wsq = math.nan
    classification = data.task == CLASSIFICATION
    baseline = health.baseline_loss(data.y_train, classification)
    held_out = health.baseline_test_loss(data.y_train, data.y_test, classification)
    run = {
        **key.to_json(),
        "status": status,
        "train_loss": _number(train),
        "test_loss": _number(test),
        "penalty": _number(result.loss_scale * lam * wsq),
        "objective": _number(train + result.loss_scale * lam * wsq),
        "weight_sq_norm": _number(wsq),
        "baseline_loss": _number(baseline),
        "baseline_test_loss": _number(held_out),  # the constant's on the held-out rows
    }
    if status == health.DIVERGED and reason:
        run["diverged_by"] = str(reason)
    run.update({name: _number(values[k]) for name, values in result.metrics.items()})
    run.update({"seconds": round(seconds, 6), "data_fingerprint": fingerprint})
    if result.curves is not None:
        run["curve"] = {"epoch": [int(e) for e in result.curves["epoch"]]}
        for name, values in result.curves.items():
            if name != "epoch" and values is not None:
                run["curve"][name] = [_number(v) for v in values[k]]
    if result.pointwise is not None:
        run["pointwise_test_loss"] = [_number(v) for v in result.pointwise[k]]
    return run


def _statuses(result, data: Dataset) -> list[str]:
    """The training-health status of each of a fit's runs."""
    classification = data.task == CLASSIFICATION
    no_fit = None
    if result.start_weight_sq_norm is not None:  # trained from a random start
        flags = (result.train_loss, data.y_train, classification, result.weight_sq_norm,
                 result.start_weight_sq_norm)  # fmt: skip
        no_fit = health.no_better_than_constant(*flags)
        if no_fit.any() and not classification:  # the least-squares fit, when it matters
            near = health.weak_signal_margin(data.X_train, data.y_train)
            no_fit = health.no_better_than_constant(*flags, near=near)
    return health.statuses(
        result.train_loss,
        health.no_fit_threshold(data.y_train, classification),
        diverged=result.diverged,
        not_converged=result.not_converged,
        no_fit=no_fit,
    )


def _number(value):
    """A JSON-safe scalar: numpy → Python, non-finite floats → None."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None
