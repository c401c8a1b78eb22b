"""`lambdas: auto`: a λ grid chosen from the data of the first seed's training split.

- linear: from the eigenvalues e = s²/n of the standardised, centred X. The grid runs
  log-evenly from e_min/100 (df(λ) = Σ e/(e + λ) within 1 % of the rank) up to the λ where
  df(λ) = 1 (one effective parameter; ½ when the rank is 1).
- logistic: glmnet's rule. λ_max = max_j |x_jᵀ(y − ȳ)| / (n·2·0.001): the smallest λ at which
  glmnet's elastic net with α = 0.001 (what glmnet uses for ridge) has all weights zero, in
  wdcli's λΣw² convention; the grid runs down to λ_max·1e-4 (n ≥ d) or λ_max·1e-2 (n < d),
  as glmnet's lambda.min.ratio.
- mlp: on standardised targets (or class labels) the loss of predicting the mean is about 1,
  and the penalty λΣw² of the initial weights (Σw² ≈ 2·Σ fan-out) matches it at
  λ₀ = 1 / Σw²_init. The grid runs from λ₀·1e-5 to λ₀·10, which puts λ_min inside it on
  diabetes, friedman1, digits and breast_cancer (docs/validation.md).
"""

from __future__ import annotations

import math

import numpy as np

from wdcli.config import Config, LambdaAuto
from wdcli.data import Dataset


def resolve_grid(config: Config) -> Config:
    """The config with `lambdas: auto` filled in from the data (unchanged otherwise)."""
    grid = config.lambdas
    if not isinstance(grid, LambdaAuto) or grid.values is not None:
        return config
    from wdcli.sweep import dataset_for

    data = dataset_for(config, config.seed_values()[0])
    low, high = RULES[config.model.name](data, config)
    values = log_grid(low, high, grid.num)
    return config.model_copy(update={"lambdas": grid.model_copy(update={"values": values})})


def log_grid(low: float, high: float, num: int) -> list[float]:
    """num values log-evenly from low to high, rounded to 3 significant digits."""
    values = np.logspace(math.log10(low), math.log10(high), num)
    return sorted({float(f"{v:.3g}") for v in values})


def ridge_range(data: Dataset, config: Config) -> tuple[float, float]:
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


def logistic_range(data: Dataset, config: Config) -> tuple[float, float]:
    X, y = data.X_train, data.y_train
    n, d = X.shape
    Y = np.eye(data.n_classes)[y] if data.n_classes > 2 else y[:, None].astype(float)
    gradient = np.abs((X - X.mean(axis=0)).T @ (Y - Y.mean(axis=0))) / n
    lam_max = max(float(gradient.max()), 1e-12) / (2 * 0.001)
    return lam_max * (1e-4 if n >= d else 1e-2), lam_max


def mlp_range(data: Dataset, config: Config) -> tuple[float, float]:
    d = data.X_train.shape[1]
    outputs = data.n_classes if data.n_classes > 2 else 1
    sizes = (d, *config.model.hidden, outputs)
    weight_sq = sum(2.0 * b for b in sizes[1:])  # E Σw² of He init: 2/fan_in per weight
    lam0 = 1.0 / weight_sq
    return lam0 * 1e-5, lam0 * 10


RULES = {"linear": ridge_range, "logistic": logistic_range, "mlp": mlp_range}
