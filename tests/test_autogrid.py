"""`lambdas: auto` and target scaling, against closed forms and scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from wdcli.config import MLPModel, validate
from wdcli.data import Dataset
from wdcli.data.build import build_dataset
from wdcli.models.mlp import fit_mlp
from wdcli.models.ranges import baseline_range as mlp_range
from wdcli.models.ranges import logistic_range, ridge_range
from wdcli.sweep import dataset_for, plan_units, run_unit
from wdcli.sweep.autogrid import resolve_grid


def _config(dataset: dict, model: dict, lambdas="auto", **extra):
    return validate(
        {"name": "a", "dataset": dataset, "model": model, "lambdas": lambdas, **extra}, "<test>"
    )


def test_ridge_grid_spans_df_from_the_rank_down_to_one():
    config = resolve_grid(_config({"name": "diabetes", "seed": 0}, {"name": "linear"}))
    data = dataset_for(config, 0)
    X = data.X_train - data.X_train.mean(axis=0)
    e = np.linalg.svd(X, compute_uv=False) ** 2 / len(X)
    low, high = ridge_range(data, config)
    assert np.sum(e / (e + low)) > 0.99 * len(e)
    assert np.sum(e / (e + high)) == pytest.approx(1.0, rel=1e-9)
    values = config.lambda_values()
    assert (
        len(values) == 30
        and values[0] == float(f"{low:.3g}")
        and values[-1] == float(f"{high:.3g}")
    )
    assert config.resolved()["lambdas"]["values"] == values  # recorded in the results


def test_with_a_grid_one_lambda_grid_spans_every_points_range():
    # the range came from the config without its grid: degree 15 here, which is not a point
    dataset = {"name": "poly", "n_samples": 200, "n_train": 30, "noise": 0.3, "seed": 0}
    config = _config(dataset, {"name": "linear"}, {"auto": True, "num": 6},
                     grid={"dataset.degree": [1, 2]})  # fmt: skip
    ranges = [ridge_range(dataset_for(_config({**dataset, "degree": d}, {"name": "linear"}), 0),
                          None) for d in (1, 2)]  # fmt: skip
    values = resolve_grid(config).lambda_values()
    assert values[0] == float(f"{min(r[0] for r in ranges):.3g}")
    assert values[-1] == float(f"{max(r[1] for r in ranges):.3g}")


def test_logistic_lambda_max_is_where_the_lasso_is_empty():
    from sklearn.svm import l1_min_c

    config = _config({"name": "breast_cancer", "seed": 0}, {"name": "logistic"})
    data = dataset_for(config, 0)
    low, high = logistic_range(data, config)
    # l1_min_c: the smallest C of C·Σ log-loss + ‖w‖₁ with a nonzero w; mean loss + λ‖w‖₁
    # is the same problem at C = 1/(n·λ)
    c_min = l1_min_c(data.X_train, data.y_train, loss="log", fit_intercept=False)
    assert high == pytest.approx(1 / (len(data.y_train) * c_min), rel=1e-12)
    assert low == pytest.approx(high * 1e-5)


def test_mlp_grid_tops_at_the_constant_predictors_loss():
    regression = _config({"name": "diabetes", "seed": 0}, {"name": "mlp"})
    assert mlp_range(dataset_for(regression, 0), regression) == pytest.approx((1e-5, 1.0))
    unscaled = _config({"name": "diabetes", "seed": 0, "scale_target": False}, {"name": "mlp"})
    data = dataset_for(unscaled, 0)
    assert mlp_range(data, unscaled)[1] == pytest.approx(np.var(data.y_train))
    digits = _config({"name": "digits", "seed": 0}, {"name": "mlp"})
    data = dataset_for(digits, 0)
    prior = np.bincount(data.y_train) / len(data.y_train)
    assert mlp_range(data, digits)[1] == pytest.approx(-np.sum(prior * np.log(prior)))


def test_an_auto_grid_has_num_distinct_values_however_narrow_its_range():
    # rounding to 3 digits merged neighbours: num 1000 over 2 decades ran 898 λ, no word
    from wdcli.sweep.autogrid import log_grid

    for num in (30, 465, 1000, 10_000):
        values = log_grid(0.01, 1.0, num)
        assert len(values) == num and values == sorted(set(values))
        assert values[0] == pytest.approx(0.01) and values[-1] == pytest.approx(1.0)
    assert log_grid(1e-5, 1.0, 6) == [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]  # 3 digits still


def test_an_auto_grid_under_decoupled_decay_stays_below_its_ceiling():
    # the paper convention's ceiling is λ = 0.5 (1 − 2λ ≤ 0): the auto top, 1, could never
    # train and "lower the largest λ" could not be done under auto
    dataset = {"name": "friedman1", "n_samples": 200, "seed": 0}
    model = {"name": "mlp", "regularization": "decoupled", "decay_convention": "paper"}
    values = resolve_grid(_config(dataset, model, {"auto": True, "num": 11})).lambda_values()
    assert len(values) == 11 and values[-1] == 0.25  # half the ceiling
    torch = resolve_grid(_config(dataset, {**model, "decay_convention": "torch"})).lambda_values()
    assert torch[-1] == 1.0  # 1/(2·lr) = 500: far above the loss rule's top


def test_target_scale_is_fitted_on_training_rows_for_regression_only():
    config = _config({"name": "diabetes", "seed": 0}, {"name": "linear"}, lambdas=[1])
    data = build_dataset(config.dataset, 0)
    assert data.target_scale == (
        pytest.approx(data.y_train.mean()),
        pytest.approx(data.y_train.std()),
    )
    off = _config(
        {"name": "diabetes", "seed": 0, "scale_target": False}, {"name": "linear"}, lambdas=[1]
    )
    assert build_dataset(off.dataset, 0).target_scale is None
    wine = _config({"name": "wine", "seed": 0}, {"name": "logistic"}, lambdas=[1])
    assert build_dataset(wine.dataset, 0).target_scale is None


def test_ridge_is_unchanged_by_target_scaling():
    on = _config({"name": "diabetes", "seed": 0}, {"name": "linear"}, lambdas=[0, 0.01, 1])
    off = _config({"name": "diabetes", "seed": 0, "scale_target": False}, {"name": "linear"},
                  lambdas=[0, 0.01, 1])  # fmt: skip
    (unit_on,), (unit_off,) = plan_units(on), plan_units(off)
    for a, b in zip(run_unit(on, unit_on), run_unit(off, unit_off), strict=True):
        assert (a["train_loss"], a["test_loss"], a["weight_sq_norm"]) == (
            b["train_loss"], b["test_loss"], b["weight_sq_norm"])  # fmt: skip


def test_mlp_with_target_scaling_is_the_mlp_on_standardised_y_in_target_units():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 3))
    y = 300 + 50 * np.tanh(X[:, 0]) + 10 * rng.standard_normal(80)
    mean, std = y[:60].mean(), y[:60].std()
    scaled = Dataset(X[:60], y[:60], X[60:], y[60:], "regression", target_scale=(mean, std))
    manual = Dataset(X[:60], (y[:60] - mean) / std, X[60:], (y[60:] - mean) / std, "regression")
    options = MLPModel(name="mlp", hidden=[8], epochs=5, batch_size=16)
    lambdas = np.array([0.0, 1e-2])
    a, b = fit_mlp(scaled, lambdas, 0, options), fit_mlp(manual, lambdas, 0, options)
    np.testing.assert_allclose(a.test_loss, b.test_loss * std**2, rtol=1e-12)
    np.testing.assert_allclose(a.curves["train_loss"], b.curves["train_loss"] * std**2, rtol=1e-12)
    np.testing.assert_array_equal(a.weight_sq_norm, b.weight_sq_norm)
    assert a.loss_scale == pytest.approx(std**2) and b.loss_scale == 1.0


@pytest.mark.slow
def test_mlp_on_diabetes_agrees_with_mlpregressor_within_one_grid_step():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    model = {"name": "mlp", "hidden": [32], "epochs": 60, "batch_size": 32, "lr": 0.003}
    config = resolve_grid(
        _config({"name": "diabetes", "seed": 0}, model, lambdas={"auto": True, "num": 11}, seeds=3)
    )
    grid = config.lambda_values()
    ours = np.zeros(len(grid))
    for unit in plan_units(config):
        for run in run_unit(config, unit):
            ours[grid.index(run["lambda"])] += run["test_loss"] / 3
    data = dataset_for(config, 0)  # X standardised as wdcli does; y in its own units
    theirs = np.zeros(len(grid))
    for i, lam in enumerate(grid):
        for seed in range(3):
            net = MLPRegressor(hidden_layer_sizes=(32,), alpha=lam * 32, batch_size=32,
                               learning_rate_init=0.003, max_iter=60, tol=0,
                               n_iter_no_change=10**6, random_state=seed)  # fmt: skip
            fit = TransformedTargetRegressor(regressor=net, transformer=StandardScaler())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fit.fit(data.X_train, data.y_train)
            theirs[i] += np.mean((fit.predict(data.X_test) - data.y_test) ** 2) / 3
    best_ours, best_theirs = int(np.argmin(ours)), int(np.argmin(theirs))
    assert 0 < best_ours < len(grid) - 1, ours  # interior
    assert abs(best_ours - best_theirs) <= 1, (grid, ours, theirs)


@pytest.mark.parametrize("units", [1.0, 1e-16, 1e-140, 1e140])
def test_a_target_in_any_units_is_scaled_by_its_own_std(units):
    # an absolute floor of 2e-15 left a target in units of 1e-16 unscaled: every MLP run no_fit
    from wdcli.data.dataset import target_scale

    y = np.random.default_rng(0).normal(3.0, 2.0, 50) * units
    mean, std = target_scale(y)
    assert (mean, std) == (pytest.approx(np.mean(y)), pytest.approx(np.std(y)))
    assert target_scale(np.full(5, 7.0 * units))[1] == 1.0  # a constant: not divided
