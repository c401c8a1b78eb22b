"""Models: each trains one model per λ on one dataset and seed, all λ together.

A model is a plain function `fit(data, lambdas, seed, options) -> Fit`. The registry below maps
the config's `model.name` to it and to all else wdcli knows of the model (tasks, `lambdas:
auto` rule, health hints, costs); the functions are imported only when a sweep runs, so that
`wdcli --help` stays fast. Models import numpy, never the config's schema: a fit's `options`
is its `model:` section, typed for readers only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wdcli.models import costs
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
    diverged_by: np.ndarray | None = None  # which rule of wdcli.metrics.health found it ("": none)
    not_converged: np.ndarray | None = None
    loss_scale: float = 1.0
    pointwise: np.ndarray | None = None
    start_weight_sq_norm: np.ndarray | None = None  # Σw² before training, from a random start


def lazy(path: str) -> Callable[..., Any]:
    """The function at dotted `path`, imported on its first call (numpy loads only when a
    sweep runs, so that `wdcli --help` stays fast)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        module, _, name = path.rpartition(".")
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = path
    return call


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: everything the rest of wdcli knows of a model, with defaults that
    suit a model trained by a few Newton steps per λ.

    - `tasks` it learns; `fit_path`, where its fit function lives; `summary` (`wdcli list
      models`); `stackable`, the `model:` keys whose values may differ between the models of
      one stack (wdcli.sweep.stacking); `reports_progress`: its fit takes an `on_eval` hook,
      called at each point of its loss curve (the sweep's progress per epoch).
    - `lambda_range(data, options) -> (low, high)`: its rule for `lambdas: auto`
      (wdcli.models.ranges; default: up to the loss of the best constant prediction).
    - `zero_lambda_note(X_train) -> str | None`: a warning printed before a sweep with λ = 0
      when the unpenalised fit of this X cannot be trusted (None: no check).
    - Health (wdcli.report.table's note on runs that did not train, docs/health.md):
      `meanings` and `knobs` by status, what the status means for this model and which of its
      `model:` keys to turn (default: the solver's tolerance, "check the data");
      `lr_key`, its learning rate's key, when diverged runs can be blamed on λ·lr ≥ 1;
      `random_start`: trained from random weights, so a run may stall where another of the
      same λ trains (wdcli.metrics.health.stuck_at_constant).
    - `split_lambdas`: whether a seed's λ may be cut into several units to keep workers busy.
      Not where a run depends on which λ share its stack: logistic's one GEMM for all λ
      rounds each by its neighbours, its solver stops on that, and 2e-7 apart on the training
      loss is not the executors' 1e-9 (DESIGN.md); its λ stay in one unit on every executor.
    - Costs (wdcli.models.costs, docs/scale.md): `memory` of a unit of its λ, `macs` of a
      sweep's training, and `work` that pays for worker processes (None: it runs serially by
      default); `macs_per_second`, its measured training speed.
    """

    tasks: tuple[str, ...]
    fit_path: str
    summary: str
    stackable: tuple[str, ...] = ()
    reports_progress: bool = False
    lambda_range: Callable[..., tuple[float, float]] = lazy("wdcli.models.ranges.baseline_range")
    zero_lambda_note: Callable[..., str | None] | None = None
    meanings: Mapping[str, str] = field(default_factory=dict)
    knobs: Mapping[str, str] = field(default_factory=dict)
    lr_key: str | None = None
    random_start: bool = False
    split_lambdas: bool = True
    memory: Callable[..., dict] = costs.newton_memory
    macs: Callable[..., float] = costs.newton_macs
    work: Callable[..., float] | None = None
    macs_per_second: float = 5e9

    def fit_function(self) -> Callable[..., Fit]:
        module, _, name = self.fit_path.rpartition(".")
        return getattr(importlib.import_module(module), name)


MODELS: dict[str, ModelSpec] = {
    "linear": ModelSpec(
        (REGRESSION,),
        "wdcli.models.linear.fit_ridge_path",
        "ridge regression, exact λ path",
        lambda_range=lazy("wdcli.models.ranges.ridge_range"),
        zero_lambda_note=lazy("wdcli.models.linear.zero_lambda_note"),
        memory=costs.ridge_memory,
        macs=costs.ridge_macs,
        macs_per_second=1e10,
    ),
    "logistic": ModelSpec(
        (CLASSIFICATION,),
        "wdcli.models.logistic.fit_logistic",
        "logistic / softmax regression, all λ by batched Newton or L-BFGS",
        lambda_range=lazy("wdcli.models.ranges.logistic_range"),
        knobs={"no_fit": "raise model.max_iter", "not_converged": "raise model.max_iter"},
        split_lambdas=False,
        macs_per_second=1e10,
    ),
    "mlp": ModelSpec(
        (REGRESSION, CLASSIFICATION),
        "wdcli.models.mlp.fit_mlp",
        "small numpy MLP, all λ trained as one stacked model",
        stackable=("lr",),
        reports_progress=True,
        meanings={
            "not_converged": "training objective still falling at the end, barely moved, or "
            "ended above the constant predictor's"
        },
        knobs={
            "diverged": "lower model.lr",
            "no_fit": "raise model.epochs or model.lr",
            "not_converged": "raise model.epochs or model.lr",
        },
        lr_key="lr",
        random_start=True,
        memory=costs.mlp_memory,
        macs=costs.mlp_macs,
        work=costs.mlp_work,
    ),
}
