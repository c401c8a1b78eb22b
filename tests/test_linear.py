"""The ridge path against scikit-learn's Ridge(alpha = n·λ) and its known properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge

from wdcli.config import LinearModel
from wdcli.data import Dataset, standardise
from wdcli.models.linear import fit_ridge_path, mean_squared_error, ridge_path, zero_lambda_note

LAMBDAS = np.array([1e-6, 1e-4, 1e-2, 1e-1, 1.0, 10.0])


def _data(kind: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, d = {"tall": (200, 20), "wide": (40, 120), "collinear": (80, 30), "constant": (60, 10)}[kind]
    X = rng.standard_normal((n, d))
    if kind == "collinear":
        X[:, 10:20] = X[:, :10] + 1e-9 * rng.standard_normal((n, 10))  # near-duplicate columns
        X[:, 20] = X[:, 0] - 2 * X[:, 1]  # an exact linear combination
    if kind == "constant":
        X[:, 3] = 7.0
    y = X[:, :5] @ rng.standard_normal(5) + 0.5 * rng.standard_normal(n) + 3.0
    X, _ = standardise(X, X)
    return X, y


CASES = [
    (kind, solver)
    for kind in ("tall", "wide", "collinear", "constant")
    for solver in ("svd", "eigh", "auto")
    if not (kind == "collinear" and solver == "eigh")
]  # eigh squares cond(X): auto avoids it


@pytest.mark.parametrize(("kind", "solver"), CASES)
def test_ridge_path_equals_sklearn_ridge(kind, solver):
    X, y = _data(kind)
    n = X.shape[0]
    W, b, _ = ridge_path(X, y, LAMBDAS, solver)
    for k, lam in enumerate(LAMBDAS):
        ref = Ridge(alpha=n * lam, solver="svd").fit(X, y)
        scale = np.max(np.abs(ref.coef_))
        assert np.max(np.abs(W[k] - ref.coef_)) <= 1e-8 * scale
        assert b[k] == pytest.approx(ref.intercept_, rel=1e-8)


@pytest.mark.parametrize("kind", ["tall", "wide", "collinear"])
def test_lambda_zero_is_the_minimum_norm_least_squares_fit(kind):
    X, y = _data(kind)
    W, b, df = ridge_path(X, y, np.array([0.0]), "svd")
    Xc = X - X.mean(axis=0)
    expected = np.linalg.pinv(Xc, rcond=max(X.shape) * np.finfo(float).eps) @ (y - y.mean())
    np.testing.assert_allclose(W[0], expected, rtol=1e-7, atol=1e-9 * np.abs(expected).max())
    assert df[0] == np.linalg.matrix_rank(Xc)


@pytest.mark.parametrize("kind", ["poly", "collinear"])
def test_auto_takes_the_svd_on_ill_conditioned_data(kind):
    if kind == "poly":
        x = np.linspace(0, 1, 30)
        X, _ = standardise(x[:, None] ** np.arange(1, 16), x[:, None] ** np.arange(1, 16))
    else:
        X, _ = _data("collinear")
    y = np.sin(X[:, 0])
    np.testing.assert_array_equal(
        ridge_path(X, y, LAMBDAS, "auto")[0], ridge_path(X, y, LAMBDAS, "svd")[0]
    )


def test_auto_takes_eigh_on_well_conditioned_data():
    for kind in ("tall", "wide"):
        X, y = _data(kind)
        np.testing.assert_array_equal(
            ridge_path(X, y, LAMBDAS, "auto")[0], ridge_path(X, y, LAMBDAS, "eigh")[0]
        )


def test_df_formula_and_losses():
    X, y = _data("tall")
    n = X.shape[0]
    W, b, df = ridge_path(X, y, LAMBDAS)
    s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    np.testing.assert_allclose(df, [np.sum(s**2 / (s**2 + n * lam)) for lam in LAMBDAS], rtol=1e-12)
    mse = mean_squared_error(X, y, W, b)
    direct = [np.mean((y - X @ W[k] - b[k]) ** 2) for k in range(len(LAMBDAS))]
    np.testing.assert_allclose(mse, direct, rtol=1e-12)


def test_fit_reports_data_loss_not_objective():
    X, y = _data("tall")
    data = Dataset(X[:150], y[:150], X[150:], y[150:], "regression")
    fit = fit_ridge_path(data, LAMBDAS, 0, LinearModel(name="linear"))
    ref = Ridge(alpha=150 * 1.0, solver="svd").fit(X[:150], y[:150])
    k = list(LAMBDAS).index(1.0)
    assert fit.train_loss[k] == pytest.approx(
        np.mean((y[:150] - ref.predict(X[:150])) ** 2), rel=1e-9
    )
    assert fit.test_loss[k] == pytest.approx(
        np.mean((y[150:] - ref.predict(X[150:])) ** 2), rel=1e-9
    )
    assert fit.weight_sq_norm[k] == pytest.approx(ref.coef_ @ ref.coef_, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(5, 40),
    d=st.integers(1, 40),
    seed=st.integers(0, 10_000),
    solver=st.sampled_from(["svd", "eigh", "auto"]),
)
def test_path_properties(n, d, seed, solver):
    """Train loss nondecreasing and Σw² nonincreasing in λ; 0 ≤ df ≤ rank."""
    rng = np.random.default_rng(seed)
    X, _ = standardise(rng.standard_normal((n, d)), np.zeros((1, d)))
    y = rng.standard_normal(n)
    lambdas = np.concatenate([[0.0], np.logspace(-6, 3, 12)])
    W, b, df = ridge_path(X, y, lambdas, solver)
    loss = mean_squared_error(X, y, W, b)
    wsq = np.einsum("kd,kd->k", W, W)
    scale = max(1.0, float(loss.max()))
    assert np.all(np.diff(loss) >= -1e-9 * scale)
    assert np.all(np.diff(wsq) <= 1e-9 * max(1.0, float(wsq.max())))
    rank = np.linalg.matrix_rank(X - X.mean(axis=0))
    assert np.all(df >= 0) and np.all(df <= rank + 1e-9)


def test_zero_lambda_note_flags_condition_beyond_one_over_root_eps():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((50, 4)))
    for cond, flagged in ((1e7, False), (1e8, True)):
        X = Q * np.array([1.0, 0.5, 0.1, 1 / cond])  # singular values 1 … 1/cond, columns centred
        X -= X.mean(axis=0)
        note = zero_lambda_note(X)
        assert (note is not None) == flagged, cond
    assert "condition number 1e+08" in zero_lambda_note(Q * np.array([1.0, 1.0, 1.0, 1e-8]))
