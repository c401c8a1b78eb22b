"""Training many configs of one unit as few stacked models as the math allows.

Points (and tune candidates) whose configs differ only in the MLP's learning rate share the
data, the shapes, the initial weights and the batch order, so all their λ train as ONE stacked
model with a per-model learning rate (a vector in the optimiser): K = values × λ models. Every
other difference (width, data, optimiser, …) is a separate fit.

`carve` holds a validation split out of the training split (never the test split); `fit_tuned`
trains every candidate on the rest and records each model's validation loss as `val_loss`.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, fields, replace

import numpy as np

from wdcli.config import Config
from wdcli.config.grid import grid_points, point_config
from wdcli.data import Dataset, standardise, target_scale
from wdcli.metrics.health import DIVERGED, OK
from wdcli.models import MODELS, Fit
from wdcli.tasks import CLASSIFICATION


def signature(config: Config) -> str:
    """Configs with equal signatures train in one stacked model."""
    data = config.resolved()
    for key in MODELS[config.model.name].stackable:
        data["model"].pop(key, None)
    return json.dumps(data, sort_keys=True)


def stack_groups(config: Config) -> list[tuple[str, ...]]:
    """The grid's points grouped by signature, groups and points in grid order."""
    groups: dict[str, list[str]] = {}
    for point in grid_points(config):
        groups.setdefault(signature(point_config(config, point)), []).append(point)
    return [tuple(points) for points in groups.values()]


def _slice(fit: Fit, start: int, stop: int) -> Fit:
    """Models start…stop of a stacked fit: every per-model array of every field (one left out
    lost its rule: without start_weight_sq_norm no_fit went unchecked under an lr grid)."""

    def part(value):
        if isinstance(value, np.ndarray):
            return value[start:stop]
        if isinstance(value, dict):
            return {key: v if key == "epoch" else part(v) for key, v in value.items()}
        return value  # None, or a number shared by every model (loss_scale)

    return Fit(**{f.name: part(getattr(fit, f.name)) for f in fields(fit)})


def fit_variants(configs: list[Config], data: Dataset, lambdas: np.ndarray, seed: int,
                 fit_function=None, **extra) -> tuple[list[Fit], float]:  # fmt: skip
    """One Fit (K = len(lambdas)) per config, and the seconds spent training them all
    (`fit_function` instead of the model's own, e.g. ridge's leave-one-out; `extra` goes to
    every fit, e.g. a progress callback)."""
    groups: dict[str, list[int]] = {}
    for i, config in enumerate(configs):
        groups.setdefault(signature(config), []).append(i)
    fits: list[Fit | None] = [None] * len(configs)
    start = time.perf_counter()
    for members in groups.values():
        first = configs[members[0]]
        fit = fit_function or MODELS[first.model.name].fit_function()
        if len(members) == 1:
            fits[members[0]] = fit(data, lambdas, seed, first.model, **extra)
            continue
        K = len(lambdas)
        lrs = np.repeat([configs[i].model.lr for i in members], K)
        stacked = fit(data, np.tile(lambdas, len(members)), seed, first.model, lrs=lrs, **extra)
        for j, i in enumerate(members):
            fits[i] = _slice(stacked, j * K, (j + 1) * K)
    return fits, time.perf_counter() - start  # type: ignore[return-value]


@dataclass(frozen=True)
class TuneData(Dataset):
    """A dataset with a validation split carved from its training split."""

    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None


def carve(data: Dataset, holdout: float, seed: int, rescale: bool = True) -> TuneData:
    """Hold out ⌈holdout·n_train⌉ training rows (at least one, leaving at least one) as the
    validation split, re-standardised on the rows left (an affine map of the old scaling;
    `rescale` False for data kept unscaled, as modular's 0/1 codes). Classes are held out in
    proportion, each keeping a row to train on: a random cut took a rare class's every row,
    and its runs were `ok` on a model that had never seen it."""
    n = len(data.y_train)
    rng = np.random.default_rng([seed, 2])
    if data.task == CLASSIFICATION:
        val = np.sort(_stratified_holdout(data.y_train, holdout, rng))
        train = np.setdiff1d(np.arange(n), val)
    else:
        n_val = min(max(1, math.ceil(holdout * n)), n - 1)
        order = rng.permutation(n)
        train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    X_sub, X_val, X_test = data.X_train[train], data.X_train[val], data.X_test
    if rescale:
        X_sub, X_val = standardise(data.X_train[train], data.X_train[val])
        _, X_test = standardise(data.X_train[train], data.X_test)
    y_sub = data.y_train[train]
    scale = None if data.target_scale is None else target_scale(y_sub)
    return TuneData(
        X_train=X_sub,
        y_train=y_sub,
        X_test=X_test,
        y_test=data.y_test,
        task=data.task,
        classes=data.classes,
        target_scale=scale,
        X_val=X_val,
        y_val=data.y_train[val],
    )


def _stratified_holdout(y: np.ndarray, holdout: float, rng: np.random.Generator) -> np.ndarray:
    """Rows to hold out: of each class ⌈holdout·its rows⌉, at most all but one (a class of one
    row holds out none); at least one row in all."""
    picked = []
    for cls in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == cls))
        picked.append(rows[: min(math.ceil(holdout * len(rows)), len(rows) - 1)])
    val = np.concatenate(picked)
    if val.size == 0:  # every class a single row: one of them goes (its class unseen)
        val = rng.permutation(len(y))[:1]
    return val


def fit_tuned(configs: list[Config], tuned: TuneData, lambdas: np.ndarray, seed: int,
              fit_function=None, **extra) -> tuple[list[Fit], float]:  # fmt: skip
    """fit_variants on the training rows left by `carve`; each Fit has metrics['val_loss']."""
    fits, seconds = fit_variants(configs, tuned, lambdas, seed, fit_function, **extra)
    if all("val_loss" in fit.metrics for fit in fits):
        return fits, seconds
    on_val = replace(tuned, X_test=tuned.X_val, y_test=tuned.y_val)  # type: ignore[arg-type]
    val_fits, more = fit_variants(configs, on_val, lambdas, seed, fit_function)
    for fit, val in zip(fits, val_fits, strict=True):
        fit.metrics["val_loss"] = val.test_loss
    return fits, seconds + more


def choose_candidate(records: list[dict]) -> int:
    """Index of the tune candidate to keep, from its run records: the lowest validation loss
    among the candidates that trained (status ok); failing that, among those that did not
    diverge; first on ties. A candidate that did not train never beats one that did."""

    def rank(i: int) -> tuple[int, float, int]:
        status, value = records[i]["status"], records[i].get("val_loss")
        if status == DIVERGED or value is None:
            return 2, math.inf, i
        return (0 if status == OK else 1), value, i

    return min(range(len(records)), key=rank)
