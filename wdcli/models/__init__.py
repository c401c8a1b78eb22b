"""Models: each trains one model per λ on one dataset and seed, all λ together.

A model is a plain function `fit(data, lambdas, seed, options) -> Fit`. The registry below maps
the config's `model.name` to it and to the tasks it can learn; the functions are imported only
when a sweep runs, so that `wdcli --help` stays fast. Models import numpy, never the config's
schema: a fit's `options` is its `model:` section, typed for readers only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wdcli.tasks import CLASSIFICATION, REGRESSION

if TYPE_CHECKING:
    import numpy as np


@dataclass
class Fit:
    """What training K models (one per λ, in the order given) produced; arrays have K rows.

    Losses are the data loss alone (mean squared error or mean cross-entropy), never the
    penalised objective. `metrics` holds further per-run numbers (df, accuracies, iterations);
    `curves` holds {"epoch": (E,), "train_loss": (K, E), "test_loss": (K, E)} where the model
    trains over epochs. `diverged` marks runs whose loss or parameters went (or were about to
    go) non-finite, `not_converged` runs whose training had not settled (see wdcli.metrics.health).
    """

    train_loss: np.ndarray
    test_loss: np.ndarray
    weight_sq_norm: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    curves: dict[str, np.ndarray] | None = None
    diverged: np.ndarray | None = None
    not_converged: np.ndarray | None = None
    loss_scale: float = 1.0
    pointwise: np.ndarray | None = None


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: the tasks a model learns, where its fit function lives, a summary
    (`wdcli list models`), the `model:` keys whose values may differ between the models of one
    stack (wdcli.sweep.stacking), and its measured training speed in multiply-adds per second
    (the time estimate of wdcli.sweep.budget, docs/scale.md)."""

    tasks: tuple[str, ...]
    fit_path: str
    summary: str
    stackable: tuple[str, ...] = ()
    macs_per_second: float = 5e9

    def fit_function(self) -> Callable[..., Fit]:
        module, _, name = self.fit_path.rpartition(".")
        return getattr(importlib.import_module(module), name)


MODELS: dict[str, ModelSpec] = {
    "linear": ModelSpec(
        (REGRESSION,),
        "wdcli.models.linear.fit_ridge_path",
        "ridge regression, exact λ path",
        macs_per_second=1e10,
    ),
    "logistic": ModelSpec(
        (CLASSIFICATION,),
        "wdcli.models.logistic.fit_logistic",
        "logistic / softmax regression, all λ by batched Newton",
        macs_per_second=1e10,
    ),
    "mlp": ModelSpec(
        (REGRESSION, CLASSIFICATION),
        "wdcli.models.mlp.fit_mlp",
        "small numpy MLP, all λ trained as one stacked model",
        stackable=("lr",),
    ),
}
