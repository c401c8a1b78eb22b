"""The stacked MLP against central differences, a direct implementation and scikit-learn.

The convention pinned here: J = L_data + λ·Σw² (weights only), L_data the mean squared error
(no ½) or mean cross-entropy; MLPRegressor(alpha = λ·B) with our lr = its lr / 2 for sgd and
our eps = 2 · its epsilon for adam; MLPClassifier(alpha = 2·λ·B) with everything else equal.
"""

from __future__ import annotations

import warnings
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.utils import shuffle as sklearn_shuffle

from wdcli.activations import ACTIVATIONS
from wdcli.config import MLPModel
from wdcli.data import CLASSIFICATION, REGRESSION, Dataset
from wdcli.models import costs, mlp
from wdcli.models.mlp import (
    encode_targets,
    eval_epochs,
    fit_mlp,
    init_params,
    objective_and_gradient,
    train_stacked,
)

TASKS = {  # name: (task, n_classes)
    "regression": (REGRESSION, 0),
    "binary": (CLASSIFICATION, 2),
    "multiclass": (CLASSIFICATION, 3),
}


def options(**changes) -> MLPModel:
    defaults = dict(name="mlp", hidden=[5], batch_size=8, epochs=4, lr=0.01, eval_every=1)
    return MLPModel(**(defaults | changes))


def targets(kind: str, X: np.ndarray, rng) -> np.ndarray:
    if kind == "regression":
        return X @ rng.standard_normal(X.shape[1]) + 0.5 * rng.standard_normal(len(X))
    if kind == "binary":
        return (X[:, 0] + 0.5 * rng.standard_normal(len(X)) > 0).astype(np.int64)
    return np.digitize(X[:, 1] + 0.3 * rng.standard_normal(len(X)), [-0.4, 0.4])


def dataset(kind: str = "regression", n_train: int = 40, n_test: int = 30, d: int = 4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_train + n_test, d))
    y = targets(kind, X, rng)
    task, n_classes = TASKS[kind]
    classes = [str(c) for c in range(n_classes)]
    return Dataset(X[:n_train], y[:n_train], X[n_train:], y[n_train:], task, classes)


def stacked(params, K, rng, spread=0.2):
    """K different networks around one network's params, as `unstack` lays them out."""
    return [np.stack([p + spread * rng.standard_normal(p.shape) for _ in range(K)]) for p in params]


# --------------------------------------------------------------------------- activations

REFERENCE = {
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "gelu": lambda z: 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3))),
    "silu": lambda z: z / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "sigmoid": lambda z: 0.5 * (1 + np.tanh(z / 2)),
    "identity": lambda z: z,
}


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activation_values_and_dtype(name, dtype):
    z = np.r_[np.linspace(-6, 6, 97), -800.0, -40.0, 40.0, 800.0].astype(dtype)
    values, slopes = z.copy(), np.empty_like(z)
    with warnings.catch_warnings(), np.errstate(over="ignore"):
        warnings.simplefilter("error")
        ACTIVATIONS[name](values, slopes)
    assert values.dtype == dtype and slopes.dtype == dtype
    with np.errstate(over="ignore"):
        expected = REFERENCE[name](z.astype(np.float64))
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(values, expected, rtol=tol, atol=tol)
    assert np.all(np.isfinite(slopes))
    no_slopes = z.copy()
    with np.errstate(over="ignore"):
        ACTIVATIONS[name](no_slopes)
    np.testing.assert_array_equal(no_slopes, values)


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("kind", TASKS)
def test_gradient_matches_central_differences(activation, kind):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((9, 3))
    Y, loss = encode_targets(targets(kind, X, rng), *TASKS[kind], np.float64)
    lambdas = np.array([0.0, 0.3])
    params = stacked(init_params((3, 4, 3, Y.shape[1]), activation, "glorot", rng), 2, rng)
    _, grads = objective_and_gradient(params, X, Y, lambdas, activation, loss)
    h = 1e-6
    for p, g in zip(params, grads, strict=True):
        for index in np.ndindex(p.shape[1:]):
            entry = (slice(None),) + index  # the same entry of every model at once
            saved = p[entry].copy()
            p[entry] = saved + h
            up, _ = objective_and_gradient(params, X, Y, lambdas, activation, loss)
            p[entry] = saved - h
            down, _ = objective_and_gradient(params, X, Y, lambdas, activation, loss)
            p[entry] = saved
            np.testing.assert_allclose(g[entry], (up - down) / (2 * h), rtol=1e-5, atol=1e-8)


def test_penalty_is_lambda_sum_of_squared_weights_biases_free():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 3))
    Y, loss = encode_targets(targets("regression", X, rng), REGRESSION, 0, np.float64)
    one = stacked(init_params((3, 4, 2, 1), "tanh", "glorot", rng), 1, rng)
    params = [np.concatenate([p, p]) for p in one]  # two identical networks
    lam = 0.7
    J, grads = objective_and_gradient(params, X, Y, [0.0, lam], "tanh", loss)
    sq = sum(np.sum(W[0] ** 2) for W in params[::2])
    assert J[1] - J[0] == pytest.approx(lam * sq, rel=1e-12)
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        if i % 2:  # biases: no penalty
            np.testing.assert_array_equal(g[1], g[0])
        else:
            np.testing.assert_allclose(g[1] - g[0], 2 * lam * p[0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", TASKS)
def test_reported_losses_are_the_data_loss_of_the_trained_networks(kind):
    from sklearn.metrics import accuracy_score, log_loss, mean_squared_error

    data, opts = dataset(kind), options(activation="tanh", epochs=3)
    Y, loss = encode_targets(data.y_train, data.task, data.n_classes, np.float64)
    Y_test, _ = encode_targets(data.y_test, data.task, data.n_classes, np.float64)
    params = init_params((4, 5, Y.shape[1]), "tanh", "glorot", np.random.default_rng(0))
    orders = [np.random.default_rng(e).permutation(40) for e in range(3)]
    run = train_stacked(data.X_train, Y, params, [0.0, 0.05], orders, opts, loss,
                        data.X_test, Y_test)  # fmt: skip
    W1, b1, W2, b2 = run.params
    for k in range(2):
        for X, y, curve, accuracy in [
            (data.X_train, data.y_train, run.train_curve, run.train_accuracy),
            (data.X_test, data.y_test, run.test_curve, run.test_accuracy),
        ]:
            z = np.tanh(X @ W1[k] + b1[k]) @ W2[k] + b2[k]
            if kind == "regression":
                expected = mean_squared_error(y, z[:, 0])  # no ½
            else:
                if kind == "binary":
                    p = np.c_[-z[:, 0], z[:, 0]] / 2  # softmax of ±z/2 is the sigmoid of z
                else:
                    p = z
                p = np.exp(p - p.max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                expected = log_loss(y, p, labels=range(p.shape[1]))  # natural log
                assert accuracy[k] == accuracy_score(y, p.argmax(axis=1))
            assert curve[k, -1] == pytest.approx(expected, rel=1e-12)


def test_fit_reports_the_final_point_of_its_curves():
    data = dataset("binary")
    fit = fit_mlp(data, np.array([0.0, 0.01, 0.1]), 3, options(epochs=7, eval_every=3))
    np.testing.assert_array_equal(fit.curves["epoch"], [0, 3, 6, 7])
    assert fit.curves["train_loss"].shape == fit.curves["test_loss"].shape == (3, 4)
    np.testing.assert_array_equal(fit.train_loss, fit.curves["train_loss"][:, -1])
    np.testing.assert_array_equal(fit.test_loss, fit.curves["test_loss"][:, -1])
    assert set(fit.metrics) == {"train_accuracy", "test_accuracy", "late_decrease", "late_fall"}
    assert fit.weight_sq_norm.shape == fit.diverged.shape == (3,)
    assert not fit.diverged.any()
    np.testing.assert_array_equal(eval_epochs(10, 1), np.arange(11))
    np.testing.assert_array_equal(eval_epochs(5, 10), [0, 5])


def test_auto_eval_every_keeps_evaluation_within_its_share_of_training():
    # a point costs ≈ n_evaluated / (2·n_train) epochs: 2000 + 2000 rows → 1 → every 13th
    auto = MLPModel(name="mlp")
    assert auto.eval_every == "auto"
    assert costs.eval_stride(auto, 2000, 4000) == 13  # 1 / 13 = 7.7 % ≤ 8 % < 1 / 12
    assert costs.eval_stride(auto, 200, 1200) == 38  # configs/mlp.yaml's splits: 3 / 38 = 7.9 %
    assert costs.eval_stride(auto, 10_000, 10_001) == 7  # never a stride whose share is > 8 %
    assert costs.eval_stride(auto, 10_000, 100) == 1
    assert costs.eval_stride(options(eval_every=3), 2000, 4000) == 3
    fit = fit_mlp(dataset(n_train=40, n_test=30), np.array([0.0]), 0,
                  options(eval_every="auto", epochs=20))  # fmt: skip
    np.testing.assert_array_equal(fit.curves["epoch"], [0, 11, 20])  # 0.875 / 0.08 → 11


# --------------------------------------------------------------------------- regularisation


def _train(data, lambdas, opts, seed=0):
    Y, loss = encode_targets(data.y_train, data.task, data.n_classes, np.dtype(opts.dtype))
    sizes = (data.X_train.shape[1], *opts.hidden, Y.shape[1])
    params = init_params(sizes, opts.activation, opts.init, np.random.default_rng(seed))
    orders = [np.random.default_rng([seed, e]).permutation(len(Y)) for e in range(opts.epochs)]
    return train_stacked(data.X_train, Y, params, lambdas, orders, opts, loss)


def test_decoupled_equals_l2_with_plain_sgd_but_not_with_adam():
    data, lambdas = dataset("regression"), np.array([0.0, 0.01, 0.3])
    for optimizer, equal in [("sgd", True), ("adam", False)]:
        runs = [
            _train(data, lambdas, options(optimizer=optimizer, regularization=reg, lr=0.02))
            for reg in ("l2", "decoupled")
        ]
        for a, b in zip(runs[0].params, runs[1].params, strict=True):
            np.testing.assert_array_equal(a[0], b[0])  # λ = 0: the same run
            if equal:
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        if not equal:
            assert np.abs(runs[0].params[0][1:] - runs[1].params[0][1:]).max() > 1e-4


def _direct_gd(params, X, y, lr, epochs):
    """Full-batch gradient descent on (y − ŷ)², one tanh hidden layer, written out plainly."""
    W1, b1, W2, b2 = (p.copy() for p in params)
    n = len(X)
    for _ in range(epochs):
        H = np.tanh(X @ W1 + b1)
        r = 2 * (H @ W2 + b2 - y[:, None]) / n  # ∂L/∂ŷ
        dH = (r @ W2.T) * (1 - H**2)
        W2 -= lr * H.T @ r
        b2 -= lr * r.sum(axis=0)
        W1 -= lr * X.T @ dH
        b1 -= lr * dH.sum(axis=0)
    return [W1, b1, W2, b2]


def test_lambda_zero_is_the_unregularised_run():
    data = dataset("regression")
    opts = options(activation="tanh", optimizer="sgd", batch_size=40, epochs=25, lr=0.05)
    run = _train(data, np.array([0.0, 1.0]), opts)
    init = init_params((4, 5, 1), "tanh", "auto", np.random.default_rng(0))
    expected = _direct_gd(init, data.X_train, data.y_train, 0.05, 25)
    for got, want in zip(run.params, expected, strict=True):
        np.testing.assert_allclose(got[0], want, rtol=1e-12, atol=1e-14)
        assert np.abs(got[1] - want).max() > 1e-3  # λ = 1 did something


def test_larger_lambda_gives_smaller_weights():
    fit = fit_mlp(dataset("regression"), np.array([0.0, 0.01, 0.1, 1.0]), 0, options(epochs=30))
    assert np.all(np.diff(fit.weight_sq_norm) < 0)


# --------------------------------------------------------------------------- batching


def assert_same_fit(a, b, rtol=1e-9):
    for name in ("train_loss", "test_loss", "weight_sq_norm"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=rtol, atol=0)
    for name in ("train_loss", "test_loss"):
        np.testing.assert_allclose(a.curves[name], b.curves[name], rtol=rtol, atol=0)
    for name in a.metrics:
        if name in ("late_decrease", "late_fall"):  # differences of losses: rounding shows more
            np.testing.assert_allclose(a.metrics[name], b.metrics[name], rtol=0, atol=1e-6)
        else:
            np.testing.assert_array_equal(a.metrics[name], b.metrics[name])
    np.testing.assert_array_equal(a.diverged, b.diverged)


def _take(fit, keep):
    return mlp.Fit(
        fit.train_loss[keep],
        fit.test_loss[keep],
        fit.weight_sq_norm[keep],
        {k: v[keep] for k, v in fit.metrics.items()},
        {"epoch": fit.curves["epoch"]}
        | {k: fit.curves[k][keep] for k in ("train_loss", "test_loss")},
        fit.diverged[keep],
    )


@pytest.mark.parametrize("kind", TASKS)
def test_stacked_equals_one_model_at_a_time(kind):
    data, lambdas = dataset(kind), np.array([0.0, 1e-3, 1e-2, 0.1])
    opts = options(hidden=[6, 4], activation="gelu", epochs=3)
    together = fit_mlp(data, lambdas, 7, opts)
    for k, lam in enumerate(lambdas):
        assert_same_fit(_take(together, [k]), fit_mlp(data, np.array([lam]), 7, opts))


@settings(max_examples=12, deadline=None)
@given(
    lambdas=st.lists(st.floats(0, 1), min_size=1, max_size=5, unique=True),
    cut=st.integers(0, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_chunk_of_lambdas_equals_the_full_call(lambdas, cut, seed):
    data, lambdas = dataset("binary"), np.array(lambdas)
    opts = options(epochs=2, optimizer="momentum", nesterov=True)
    full = fit_mlp(data, lambdas, seed, opts)
    cut = min(cut, len(lambdas))
    for part in (slice(0, cut), slice(cut, None)):
        if len(lambdas[part]):
            assert_same_fit(_take(full, part), fit_mlp(data, lambdas[part], seed, opts))


def test_same_seed_same_numbers_other_seed_other_numbers():
    data, lambdas, opts = dataset("multiclass"), np.array([0.0, 0.01]), options(epochs=2)
    a, b = fit_mlp(data, lambdas, 3, opts), fit_mlp(data, lambdas, 3, opts)
    np.testing.assert_array_equal(a.curves["train_loss"], b.curves["train_loss"])
    assert not np.array_equal(a.train_loss, fit_mlp(data, lambdas, 4, opts).train_loss)


def test_evaluation_in_chunks_gives_the_same_losses(monkeypatch):
    data, lambdas = dataset("multiclass", n_train=600, n_test=300), np.array([0.0, 0.1])
    opts = options(epochs=1, batch_size=100)
    whole = fit_mlp(data, lambdas, 0, opts)
    monkeypatch.setattr(mlp, "EVAL_BYTES", 1)  # one BLOCK of rows at a time
    chunked = fit_mlp(data, lambdas, 0, opts)
    assert_same_fit(whole, chunked, rtol=1e-14)


# --------------------------------------------------------------------------- scikit-learn

SKLEARN_ACTIVATION = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic", "identity": "identity"}


def _sklearn_twin(kind, solver, activation, lam, params, X, y, B, epochs):
    """scikit-learn's MLP trained from `params` with the same batches (shuffle=False)."""
    regression = kind == "regression"
    estimator = MLPRegressor if regression else MLPClassifier
    est = estimator(
        hidden_layer_sizes=[W.shape[1] for W in params[:-2:2]],
        activation=SKLEARN_ACTIVATION[activation],
        solver="adam" if solver == "adam" else "sgd",
        alpha=lam * B if regression else 2 * lam * B,
        batch_size=B,
        learning_rate_init=0.01,
        learning_rate="constant",
        momentum=0.0 if solver == "sgd" else 0.8,
        nesterovs_momentum=solver == "nesterov",
        epsilon=1e-8,
        shuffle=False,
        tol=0.0,
        n_iter_no_change=10**6,
        warm_start=True,
        max_iter=1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "maximum iterations reached"
        est.fit(X, y)  # sets up the estimator; its weights are replaced next
        est.coefs_ = [W.copy() for W in params[::2]]
        est.intercepts_ = [b.copy() for b in params[1::2]]
        est.set_params(max_iter=epochs).fit(X, y)  # warm start: from our weights
    return [p for pair in zip(est.coefs_, est.intercepts_, strict=True) for p in pair]


@pytest.mark.parametrize("solver", ["adam", "sgd", "momentum", "nesterov"])
@pytest.mark.parametrize(
    ("kind", "activation"), [("regression", "relu"), ("binary", "tanh"), ("multiclass", "sigmoid")]
)
def test_trained_weights_equal_scikit_learn(kind, activation, solver):
    n, B, epochs = 48, 16, 6
    data = dataset(kind, n_train=n, n_test=1, d=5, seed=4)
    X, y = data.X_train, data.y_train
    Y, loss = encode_targets(y, data.task, data.n_classes, np.float64)
    rng = np.random.default_rng(5)
    params = init_params((5, 7, 6, Y.shape[1]), activation, "glorot", rng)
    params = [p + 0.1 * rng.standard_normal(p.shape) for p in params]  # nonzero biases too
    # MLPRegressor's gradients are half of ours (½·MSE, alpha = λ·B): sgd takes half its lr,
    # adam twice its eps (m and √v are halved, so eps must be too); the classifier is equal.
    halved = kind == "regression"
    opts = options(
        hidden=[7, 6],
        activation=activation,
        optimizer="sgd" if solver == "sgd" else solver.replace("nesterov", "momentum"),
        nesterov=solver == "nesterov",
        momentum=0.8,
        lr=0.005 if halved and solver != "adam" else 0.01,
        eps=2e-8 if halved else 1e-8,
        batch_size=B,
        epochs=epochs,
    )
    lambdas = np.array([0.0, 0.02])
    run = train_stacked(X, Y, params, lambdas, [np.arange(n)] * epochs, opts, loss)
    for k, lam in enumerate(lambdas):
        expected = _sklearn_twin(kind, solver, activation, lam, params, X, y, B, epochs)
        for got, want, start in zip(run.params, expected, params, strict=True):
            assert np.abs(want - start).max() > 1e-5  # training moved the weights
            np.testing.assert_allclose(got[k], want, rtol=0, atol=1e-10 * np.abs(want).max())


@pytest.mark.parametrize("activation", list(SKLEARN_ACTIVATION))
def test_sklearn_initial_weights_are_scikit_learns_draws(activation):
    # Given the same RandomState, init: sklearn draws exactly what MLPRegressor's _init_coef
    # draws: the same scheme, gain (2 for sigmoid, 6 otherwise) and order (W, then b).
    sizes = (5, 7, 6, 1)
    est = MLPRegressor(activation=SKLEARN_ACTIVATION[activation])
    est._random_state = np.random.RandomState(3)
    expected = [p for sizes_ in pairwise(sizes) for p in est._init_coef(*sizes_, np.float64)]
    got = init_params(sizes, activation, "sklearn", np.random.RandomState(3))
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(b.any() for b in got[1::2])  # biases are drawn too, not zero


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_auto_is_sklearn_except_he_for_sigmoid(activation):
    def draw(init):
        return init_params((4, 6, 2), activation, init, np.random.default_rng(1))

    expected = draw("he" if activation == "sigmoid" else "sklearn")
    for a, b in zip(draw("auto"), expected, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("activation", "shuffle"), [("relu", False), ("sigmoid", False), ("relu", True)]
)
def test_sklearn_init_trains_as_mlp_regressor_from_its_own_start(activation, shuffle):
    # End to end, nothing injected into scikit-learn: MLPRegressor(random_state=0) draws its
    # own initial weights (and with shuffle=True, then a shuffle of the rows each epoch from the
    # same RandomState); init: sklearn with RandomState(0), and the same batch orders, must end
    # at the same weights under alpha = λ·B and eps = 2·epsilon.
    n, B, epochs, lam = 48, 16, 5, 0.02
    data = dataset("regression", n_train=n, n_test=1, d=5, seed=6)
    X, y = data.X_train, data.y_train
    est = MLPRegressor(
        hidden_layer_sizes=(7, 6), activation=SKLEARN_ACTIVATION[activation], solver="adam",
        alpha=lam * B, batch_size=B, learning_rate_init=0.01, epsilon=1e-8, shuffle=shuffle,
        tol=0.0, n_iter_no_change=10**6, max_iter=epochs, random_state=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "maximum iterations reached"
        est.fit(X, y)
    opts = options(hidden=[7, 6], activation=activation, lr=0.01, eps=2e-8, batch_size=B,
                   epochs=epochs)  # fmt: skip
    Y, loss = encode_targets(y, data.task, data.n_classes, np.float64)
    random_state = np.random.RandomState(0)
    start = init_params((5, 7, 6, 1), activation, "sklearn", random_state)
    orders = [np.arange(n)]
    for _ in range(epochs):  # scikit-learn shuffles the previous epoch's order
        orders.append(
            sklearn_shuffle(orders[-1], random_state=random_state) if shuffle else orders[-1]
        )
    run = train_stacked(X, Y, start, np.array([lam]), orders[1:], opts, loss)
    expected = [p for pair in zip(est.coefs_, est.intercepts_, strict=True) for p in pair]
    for got, want in zip(run.params, expected, strict=True):
        np.testing.assert_allclose(got[0], want, rtol=0, atol=1e-10 * np.abs(want).max())


# --------------------------------------------------------------------------- divergence, dtype


def test_divergence_marks_only_the_runs_that_blew_up():
    # With sgd, λ = 1e6 multiplies the weights by 1 − lr·2λ ≈ −2·10⁴ per step: overflow.
    data, lambdas = dataset("multiclass"), np.array([0.0, 1e-3, 1e6, 0.01])
    opts = options(optimizer="sgd", lr=0.01, epochs=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no floating point warnings escape
        fit = fit_mlp(data, lambdas, 0, opts)
    assert fit.diverged.tolist() == [False, False, True, False]
    for values in (fit.train_loss, fit.test_loss, fit.weight_sq_norm, *fit.metrics.values()):
        assert np.isnan(values[2]) and np.all(np.isfinite(values[[0, 1, 3]]))
    curve = fit.curves["train_loss"][2]
    assert np.isfinite(curve[0]) and np.isnan(curve[-1])
    # the others went on exactly as they do without the diverged run
    assert_same_fit(_take(fit, [0, 1, 3]), fit_mlp(data, lambdas[[0, 1, 3]], 0, opts))


def test_a_huge_learning_rate_diverges_every_run_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_mlp(
            dataset("regression"), np.array([0.0, 0.1]), 0, options(lr=1e4, optimizer="sgd")
        )
    assert fit.diverged.all() and np.isnan(fit.train_loss).all()


def test_float32_trains_in_float32_close_to_float64():
    data, lambdas = dataset("multiclass"), np.array([0.0, 0.01, 0.1])
    opts64, opts32 = options(epochs=5), options(epochs=5, dtype="float32")
    run = _train(data, lambdas, opts32)
    assert all(p.dtype == np.float32 for p in run.params)
    f64, f32 = fit_mlp(data, lambdas, 0, opts64), fit_mlp(data, lambdas, 0, opts32)
    np.testing.assert_allclose(f32.train_loss, f64.train_loss, rtol=1e-5)
    np.testing.assert_allclose(f32.weight_sq_norm, f64.weight_sq_norm, rtol=1e-5)
    assert np.abs(f32.train_loss / f64.train_loss - 1).max() > 1e-10  # really float32


# --------------------------------------------------------------------------- edge cases


def test_no_hidden_layer_is_ridge_and_logistic_regression():
    from sklearn.linear_model import LogisticRegression, Ridge

    lambdas, n = np.array([0.01, 0.1]), 40
    opts = options(hidden=[], optimizer="sgd", batch_size=n, epochs=3000, eval_every=3000)
    data = dataset("regression", n_train=n)
    run = _train(data, lambdas, opts.model_copy(update={"lr": 0.1}))
    for k, lam in enumerate(lambdas):  # min mean (y − ŷ)² + λ‖w‖²  =  Ridge(alpha = n·λ)
        ridge = Ridge(alpha=n * lam).fit(data.X_train, data.y_train)
        np.testing.assert_allclose(run.params[0][k, :, 0], ridge.coef_, rtol=1e-9)
        assert run.params[1][k, 0] == pytest.approx(ridge.intercept_, rel=1e-9)
    data = dataset("binary", n_train=n)
    run = _train(data, lambdas, opts.model_copy(update={"lr": 1.0}))
    for k, lam in enumerate(lambdas):  # mean cross-entropy + λ‖w‖²  =  C = 1 / (2·n·λ)
        logistic = LogisticRegression(C=1 / (2 * n * lam), tol=1e-12, max_iter=10_000)
        logistic.fit(data.X_train, data.y_train)
        np.testing.assert_allclose(run.params[0][k, :, 0], logistic.coef_[0], rtol=1e-6)


def test_no_lambdas_give_empty_results():
    fit = fit_mlp(dataset("binary"), np.array([]), 0, options())
    assert fit.train_loss.shape == fit.weight_sq_norm.shape == fit.diverged.shape == (0,)
    assert fit.curves["test_loss"].shape == (0, 5)
    assert fit.metrics["test_accuracy"].shape == (0,)


def test_an_input_constant_in_the_training_rows_starts_and_stays_at_zero_weight():
    # `site`: 7 in every training row, 7 ± 50 in the test file: its random first-layer
    # weights only decayed, and the test loss (701 against 0.065) measured them
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X[:, 1] = 0.0  # constant in the training rows (centred)
    X_test = rng.normal(size=(100, 3)) * [1, 50, 1]
    y, y_test = X[:, 0] - X[:, 2], X_test[:, 0] - X_test[:, 2]
    data = Dataset(X, y, X_test, y_test, REGRESSION)
    opts = MLPModel(name="mlp", hidden=[8], lr=0.01, batch_size=20, epochs=30)
    fit = fit_mlp(data, np.array([0.0, 1e-3]), 0, opts)
    moved = fit_mlp(
        Dataset(X, y, X_test * [1, 0, 1], y_test, REGRESSION), np.array([0.0, 1e-3]), 0, opts
    )
    np.testing.assert_array_equal(fit.test_loss, moved.test_loss)  # the column changes nothing
    assert (fit.test_loss < 0.1 * np.var(y_test)).all()
