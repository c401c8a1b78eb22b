"""`lambdas: auto`: each model's rule for the λ range, from the data of a training split.

A rule is `(data, options) -> (low, high)`, named by its model's registry entry
(wdcli.models.MODELS); the sweep spreads the grid between the two (wdcli.sweep.autogrid).

- linear: from the eigenvalues e = s²/n of the standardised, centred X. The grid runs
  log-evenly from e_min/100 (df(λ) = Σ e/(e + λ) within 1 % of the rank) up to the λ where
  df(λ) = 1 (one effective parameter; ½ when the rank is 1).
- logistic: glmnet's λ_max = max_j |x_jᵀ(y − ȳ)| / n (one-hot Y for classes): the smallest λ
  at which the L1-penalised (lasso) weights are all zero. The grid runs down to λ_max·1e-5.
  (glmnet's own ridge λ_max assumes α = 0.001 and is 1000× larger; with its lambda.min.ratio
  1e-4 that grid misses λ_min below its bottom on breast_cancer, digits and wine.)
- mlp, and the default of a model without a rule of its own: L₀ = the training loss of the
  best constant prediction (the variance of the targets it trains on: 1 when they are
  standardised; the cross-entropy of the class prior). At λ = L₀ a network with Σw² ≥ 1 costs
  more than that constant, so networks collapse towards it; the grid runs from L₀·1e-5 to L₀,
  which puts λ_min inside it on diabetes, friedman1, digits and breast_cancer
  (docs/validation.md).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from wdcli.data.dataset import Dataset


def ridge_range(data: Dataset, options: Any = None) -> tuple[float, float]:
    X = data.X_train - data.X_train.mean(axis=0)
    e = np.linalg.svd(X, compute_uv=False) ** 2 / X.shape[0]
    e = e[e > e[0] * max(X.shape) * np.finfo(float).eps] if e.size and e[0] > 0 else e[:0]
    if e.size == 0:
        return 1e-6, 1.0
    target = 1.0 if e.size > 1 else 0.5
    return e[-1] / 100, _solve_df(e, target)


def _solve_df(e: np.ndarray, target: float) -> float:
    """The λ with Σ e/(e + λ) = target, by bisection on log λ (df falls as λ grows)."""
    low, high = math.log(e[-1] * 1e-6), math.log(e.sum() * 1e6)
    for _ in range(200):
        mid = (low + high) / 2
        if np.sum(e / (e + math.exp(mid))) > target:
            low = mid
        else:
            high = mid
    return math.exp((low + high) / 2)


def logistic_range(data: Dataset, options: Any = None) -> tuple[float, float]:
    X, y = data.X_train, data.y_train
    n = X.shape[0]
    Y = np.eye(data.n_classes)[y] if data.n_classes > 2 else y[:, None].astype(float)
    gradient = np.abs((X - X.mean(axis=0)).T @ (Y - Y.mean(axis=0))) / n
    lam_max = max(float(gradient.max()), 1e-12)
    return lam_max * 1e-5, lam_max


def baseline_range(data: Dataset, options: Any = None) -> tuple[float, float]:
    y = data.y_train
    if data.task == "regression":
        loss0 = 1.0 if data.target_scale is not None else float(np.var(y))
    else:
        prior = np.bincount(y, minlength=data.n_classes) / len(y)
        loss0 = float(-np.sum(prior[prior > 0] * np.log(prior[prior > 0])))
    loss0 = loss0 if loss0 > 0 else 1.0
    return loss0 * 1e-5, loss0
