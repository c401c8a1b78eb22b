"""Each run's reported numbers against an independent computation, at λ > 0 too.

`penalty` = λ·Σw² over the weights (never the biases) and `objective` = train_loss + penalty are
recomputed here from scikit-learn fits of the same data, so that a factor or a swapped field in
the run record cannot pass. The MLP's initial weights are checked for their variance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss, mean_squared_error

from wdcli.config import load_config
from wdcli.models.mlp import init_params
from wdcli.sweep import Unit, dataset_for, run_unit

LAMBDAS = (1e-3, 3e-2, 0.5)


def _runs(write_config, text: str) -> tuple[list[dict], object]:
    config = load_config(write_config(text))
    data = dataset_for(config, 0)
    return run_unit(config, Unit(0, LAMBDAS), data), data


def test_ridge_penalty_and_objective_equal_an_independent_fit(write_config):
    runs, data = _runs(
        write_config,
        """\
        name: r
        dataset: {name: diabetes, seed: 0}
        model: {name: linear}
        lambdas: [1]
        """,
    )
    n = len(data.y_train)
    for run in runs:
        ref = Ridge(alpha=n * run["lambda"]).fit(data.X_train, data.y_train)
        wsq = float(np.sum(ref.coef_**2))
        train = mean_squared_error(data.y_train, ref.predict(data.X_train))
        assert run["weight_sq_norm"] == pytest.approx(wsq, rel=1e-9)
        assert run["penalty"] == pytest.approx(run["lambda"] * wsq, rel=1e-9)
        assert run["train_loss"] == pytest.approx(train, rel=1e-9)
        assert run["objective"] == pytest.approx(train + run["lambda"] * wsq, rel=1e-9)


def test_logistic_penalty_and_objective_equal_an_independent_fit(write_config):
    runs, data = _runs(
        write_config,
        """\
        name: l
        dataset: {name: breast_cancer, seed: 0}
        model: {name: logistic, tol: 1e-10}
        lambdas: [1]
        """,
    )
    n = len(data.y_train)
    for run in runs:
        C = 1 / (2 * n * run["lambda"])
        ref = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(data.X_train, data.y_train)
        wsq = float(np.sum(ref.coef_**2))
        train = log_loss(data.y_train, ref.predict_proba(data.X_train))
        assert run["penalty"] == pytest.approx(run["lambda"] * wsq, rel=1e-5)
        assert run["objective"] == pytest.approx(train + run["lambda"] * wsq, rel=1e-7)
        assert run["objective"] == pytest.approx(run["train_loss"] + run["penalty"], rel=1e-12)


@pytest.mark.parametrize("scale_target", [False, True])
def test_mlp_objective_is_train_loss_plus_lambda_times_the_weights_norm(write_config, scale_target):
    runs, data = _runs(
        write_config,
        f"""\
        name: m
        dataset: {{name: friedman1, n_samples: 120, seed: 0, scale_target: {str(scale_target).lower()}}}
        model: {{name: mlp, hidden: [8], epochs: 5, batch_size: 16}}
        lambdas: [1]
        """,
    )
    # on standardised targets the MLP minimises MSE/σ² + λΣw², i.e. MSE + σ²·λΣw² in target units
    units = data.target_scale[1] ** 2 if scale_target else 1.0
    assert (data.target_scale is not None) == scale_target
    penalties = [run["penalty"] for run in runs]
    for run in runs:
        assert run["penalty"] == pytest.approx(
            units * run["lambda"] * run["weight_sq_norm"], rel=1e-12
        )
        assert run["objective"] == pytest.approx(run["train_loss"] + run["penalty"], rel=1e-12)
    assert len(set(penalties)) == len(LAMBDAS) and min(penalties) > 0


@pytest.mark.parametrize(
    ("init", "activation", "variance", "biases"),
    [
        ("he", "tanh", lambda fan_in, fan_out: 2 / fan_in, False),
        ("glorot", "relu", lambda fan_in, fan_out: 2 / (fan_in + fan_out), False),
        ("glorot", "sigmoid", lambda fan_in, fan_out: 2 / (fan_in + fan_out), False),
        ("auto", "relu", lambda fan_in, fan_out: 2 / (fan_in + fan_out), True),
        ("auto", "tanh", lambda fan_in, fan_out: 2 / (fan_in + fan_out), True),
        ("auto", "sigmoid", lambda fan_in, fan_out: 2 / fan_in, False),
        ("sklearn", "sigmoid", lambda fan_in, fan_out: 2 / (3 * (fan_in + fan_out)), True),
    ],
)
def test_initial_weights_have_the_stated_variance(init, activation, variance, biases):
    sizes = (400, 300, 1)
    params = init_params(sizes, activation, init, np.random.default_rng(0))
    W1, b1 = params[0], params[1]
    expected = variance(*sizes[:2])
    # The sample variance of m draws is within 5 standard errors of the truth (√(2/m)·σ²).
    tolerance = 5 * math.sqrt(2 / W1.size) * expected
    assert abs(W1.var() - expected) <= tolerance
    assert abs(W1.mean()) <= 5 * math.sqrt(expected / W1.size)
    if biases:  # scikit-learn draws biases from the weights' distribution
        assert abs(b1.var() - expected) <= 5 * math.sqrt(2 / b1.size) * expected
    else:
        assert not b1.any()
