"""Models: each trains one model per λ on one dataset and seed, all λ together.

A model is a plain function `fit(data, lambdas, seed, options) -> Fit`. The registry below maps
the config's `model.name` to it and to the tasks it can learn; the functions are imported only
when a sweep runs, so that `wdcli --help` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wdcli.config import CLASSIFICATION, REGRESSION, Config, task_of
from wdcli.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np


@dataclass
class Fit:
    """What training K models (one per λ, in the order given) produced; arrays have K rows.

    Losses are the data loss alone (mean squared error or mean cross-entropy), never the
    penalised objective. `metrics` holds further per-run numbers (df, accuracies, iterations);
    `curves` holds {"epoch": (E,), "train_loss": (K, E), "test_loss": (K, E)} where the model
    trains over epochs. `diverged` marks runs whose loss or parameters went (or were about to
    go) non-finite, `not_converged` runs whose training had not settled (see wdcli.health).
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
    """A registry entry: the tasks a model learns, where its fit function lives, a summary."""

    tasks: tuple[str, ...]
    fit_path: str
    summary: str

    def fit_function(self) -> Callable[..., Fit]:
        module, _, name = self.fit_path.rpartition(".")
        return getattr(importlib.import_module(module), name)


MODELS: dict[str, ModelSpec] = {
    "linear": ModelSpec(
        (REGRESSION,), "wdcli.models.linear.fit_ridge_path", "ridge regression, exact λ path"
    ),
    "logistic": ModelSpec(
        (CLASSIFICATION,),
        "wdcli.models.logistic.fit_logistic",
        "logistic / softmax regression, all λ by batched Newton or L-BFGS",
    ),
    "mlp": ModelSpec(
        (REGRESSION, CLASSIFICATION),
        "wdcli.models.mlp.fit_mlp",
        "small numpy MLP, all λ trained as one stacked model",
    ),
}


def check_task(config: Config, task: str | None = None) -> None:
    """Refuse a model that cannot learn the dataset's task (known before any data is read)."""
    task = task or task_of(config.dataset)
    tasks = MODELS[config.model.name].tasks
    if task is not None and task not in tasks:
        fitting = [name for name, spec in MODELS.items() if task in spec.tasks]
        raise ConfigError(
            f"model.name: '{config.model.name}' is for {' and '.join(tasks)}, but dataset "
            f"'{config.dataset.name}' is {task}; use {' or '.join(fitting)}"
        )
