"""Batched logistic / softmax regression against scikit-learn, derivatives and known properties.

J(W, b) = mean cross-entropy + λ·‖W‖²  =  scikit-learn's LogisticRegression(C = 1/(2nλ))
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from wdcli.config import LogisticModel
from wdcli.data import CLASSIFICATION, Dataset, standardise
from wdcli.models import logistic
from wdcli.models.logistic import LogisticPath, cross_entropy, fit_logistic, solve_logistic

LAMBDAS = np.array([1e-5, 1e-3, 1e-2, 1e-1, 1.0])
SOLVERS = ["dense", "cg", "lbfgs"]


def _data(n_classes: int, n: int = 240, d: int = 8, seed: int = 0, separable: bool = False):
    """Standardised Gaussian features, labels from a noisy (or exact) linear rule."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 3.0, d)
    scores = X @ rng.standard_normal((d, n_classes))
    if not separable:
        scores += 2.0 * rng.gumbel(size=(n, n_classes))
    y = scores.argmax(axis=1)
    X, _ = standardise(X, X)
    return X, y


def _objective(X, y, coef, intercept, lam):
    """J written out independently: coef (C', d), intercept (C',), C' = 1 for two classes."""
    L = X @ coef.T + intercept
    if coef.shape[0] == 1:
        z = L[:, 0]
        ce = np.mean(np.logaddexp(0.0, z) - (y == 1) * z)
    else:
        top = L.max(axis=1)
        lse = top + np.log(np.exp(L - top[:, None]).sum(axis=1))
        ce = np.mean(lse - L[np.arange(len(y)), y])
    return ce + lam * np.sum(coef**2)


def _gradient(X, y, coef, intercept, lam):
    """∇J over (coef, intercept), written out: (P − Y)ᵀ[X, 1]/n + 2λ[W, 0]."""
    L = X @ coef.T + intercept
    if coef.shape[0] == 1:
        R = 1.0 / (1.0 + np.exp(-L)) - (y == 1)[:, None]
    else:
        P = np.exp(L - L.max(axis=1, keepdims=True))
        R = P / P.sum(axis=1, keepdims=True) - np.eye(coef.shape[0])[y]
    return np.hstack([R.T @ X / len(y) + 2 * lam * coef, R.mean(axis=0)[:, None]])


def _sklearn(X, y, lam):
    """scikit-learn's minimiser of the same J (to its tiniest tolerance), warnings as errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        C = 1.0 / (2 * len(y) * lam)
        return LogisticRegression(C=C, tol=1e-12, max_iter=1000, solver="newton-cholesky").fit(X, y)


# --------------------------------------------------------------------------- against scikit-learn


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_objective_and_coefficients_equal_sklearn(n_classes, solver):
    X, y = _data(n_classes)
    path = solve_logistic(X, y, n_classes, LAMBDAS, tol=1e-10, max_iter=100, solver=solver)
    assert path.converged.all()
    assert path.coef.shape == (len(LAMBDAS), 1 if n_classes == 2 else n_classes, X.shape[1])
    for k, lam in enumerate(LAMBDAS):
        ref = _sklearn(X, y, lam)
        ours = _objective(X, y, path.coef[k], path.intercept[k], lam)
        theirs = _objective(X, y, ref.coef_, ref.intercept_, lam)
        assert ours == pytest.approx(theirs, rel=1e-8)
        scale = max(1.0, np.abs(ref.coef_).max())
        np.testing.assert_allclose(path.coef[k], ref.coef_, rtol=0, atol=1e-6 * scale)
        # softmax intercepts are defined up to a common shift: both centre them (Σ_c b_c = 0)
        np.testing.assert_allclose(path.intercept[k], ref.intercept_, rtol=0, atol=1e-6 * scale)


def test_fit_reports_data_loss_accuracy_and_convergence():
    X, y = _data(3, n=300)
    data = Dataset(X[:200], y[:200], X[200:], y[200:], CLASSIFICATION, ["a", "b", "c"])
    fit = fit_logistic(data, LAMBDAS, seed=0, options=LogisticModel(name="logistic"))
    path = solve_logistic(X[:200], y[:200], 3, LAMBDAS)
    for k in range(len(LAMBDAS)):
        W, b = path.coef[k], path.intercept[k]
        assert fit.train_loss[k] == pytest.approx(
            _objective(X[:200], y[:200], W, b, 0.0), rel=1e-12
        )
        assert fit.test_loss[k] == pytest.approx(_objective(X[200:], y[200:], W, b, 0.0), rel=1e-12)
        assert fit.weight_sq_norm[k] == pytest.approx(np.sum(W**2), rel=1e-12)
        accuracy = np.mean((X[200:] @ W.T + b).argmax(axis=1) == y[200:])
        assert fit.metrics["test_accuracy"][k] == pytest.approx(accuracy)
    assert set(fit.metrics) == {
        "train_accuracy",
        "test_accuracy",
        "iterations",
        "grad_norm",
        "converged",
    }
    assert fit.metrics["converged"].dtype == bool and fit.metrics["converged"].all()
    assert fit.metrics["iterations"].dtype.kind == "i"
    assert np.all(fit.metrics["grad_norm"] <= 1e-8)
    assert fit.curves is None and not fit.diverged.any()


# --------------------------------------------------------------------------- derivatives


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 4])
def test_gradient_at_the_solution_is_below_tol(n_classes, solver):
    X, y = _data(n_classes)
    tol = 1e-9
    path = solve_logistic(X, y, n_classes, LAMBDAS, tol=tol, solver=solver)
    for k, lam in enumerate(LAMBDAS):
        grad = _gradient(X, y, path.coef[k], path.intercept[k], lam)
        assert np.abs(grad).max() <= tol
        assert path.grad_norm[k] == pytest.approx(np.abs(grad).max(), rel=1e-6, abs=1e-15)


def _problem_at_random_point(n_classes, K=3, seed=1):
    X, y = _data(n_classes, n=60, d=4, seed=seed)
    problem = logistic._Problem(X, y, n_classes, K)
    eta = 0.7 * np.random.default_rng(seed).standard_normal((K, problem.m, problem.q))
    return problem, eta, np.array([0.0, 0.05, 0.8])[:K]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_gradient_matches_central_differences(n_classes):
    problem, eta, lambdas = _problem_at_random_point(n_classes)
    _, grad = logistic._objective(problem, eta, lambdas)
    h = 1e-6
    numeric = np.zeros_like(eta)
    for index in np.ndindex(eta.shape[1:]):
        step = np.zeros_like(eta)
        step[(slice(None), *index)] = h
        plus, _ = logistic._objective(problem, eta + step, lambdas)
        minus, _ = logistic._objective(problem, eta - step, lambdas)
        numeric[(slice(None), *index)] = (plus - minus) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    # and the gradient over the full (coef, intercept) agrees with the one written out
    theta = problem.full(eta)
    for k, lam in enumerate(lambdas):
        full = _gradient(problem.X1[:, :-1], problem.y, theta[k, :, :-1], theta[k, :, -1], lam)
        np.testing.assert_allclose(problem.full(grad)[k], full, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_hessian_matches_central_differences_and_products(n_classes):
    problem, eta, lambdas = _problem_at_random_point(n_classes)
    K, m, q = eta.shape
    H = logistic._hessians(problem, eta, lambdas)
    h = 1e-5
    for j in range(m * q):
        step = np.zeros(m * q)
        step[j] = h
        step = np.broadcast_to(step.reshape(m, q), eta.shape)
        _, plus = logistic._objective(problem, eta + step, lambdas)
        _, minus = logistic._objective(problem, eta - step, lambdas)
        column = ((plus - minus) / (2 * h)).reshape(K, -1)
        np.testing.assert_allclose(H[:, :, j], column, rtol=1e-6, atol=1e-8)
    # the Hessian-free products of the CG solver are the same matrix
    curvature = logistic._Curvature(problem, eta)
    v = np.random.default_rng(2).standard_normal(eta.shape)
    Hv = curvature.product(v, np.arange(K))
    Hv[..., :-1] += 2 * lambdas[:, None, None] * v[..., :-1]
    np.testing.assert_allclose(
        Hv.reshape(K, -1), np.einsum("kij,kj->ki", H, v.reshape(K, -1)), rtol=1e-10, atol=1e-12
    )
    live = np.array([2, 0])  # a subset of the systems, in any order
    np.testing.assert_allclose(
        curvature.product(v[live], live),
        curvature.product(v, np.arange(K))[live],
        rtol=1e-12,
        atol=1e-15,
    )
    # its Kronecker preconditioner: symmetric positive definite, exact for two classes
    data_part = H.copy()
    weights = np.arange(m * q) % q < q - 1
    data_part[:, weights, weights] -= 2 * lambdas[:, None]
    trace = np.einsum("kii->k", data_part)
    np.testing.assert_allclose(curvature.trace, trace, rtol=1e-10)
    shift = lambdas + 0.01
    apply = curvature.kronecker(shift)
    M_inv = np.stack(
        [
            apply(np.eye(m * q).reshape(-1, m, q)[None].repeat(K, 0)[:, j], np.arange(K))
            for j in range(m * q)
        ],
        axis=-1,
    ).reshape(K, m * q, m * q)
    np.testing.assert_allclose(M_inv, M_inv.transpose(0, 2, 1), atol=1e-12)
    assert np.all(np.linalg.eigvalsh(M_inv) > 0)
    if n_classes == 2:
        exact = data_part + 2 * shift[:, None, None] * np.eye(m * q)
        np.testing.assert_allclose(
            M_inv @ exact, np.broadcast_to(np.eye(m * q), exact.shape), atol=1e-9
        )
    else:  # A ⊗ B keeps the trace of the data part
        M = np.linalg.inv(M_inv) - 2 * shift[:, None, None] * np.eye(m * q)
        np.testing.assert_allclose(np.einsum("kii->k", M), trace, rtol=1e-8)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("shape", [(12, 30), (40, 4)])
def test_the_thin_preconditioner_equals_the_full_one(n_classes, shape):
    # more columns than rows: B's eigenpairs from a thin SVD instead of a q × q eigh (O(q³) at
    # every Newton step: minutes a step at d = 4 000, uninterruptible); the same operator
    n, d = shape
    X, y = _data(n_classes, n=n, d=d, seed=3)
    problem = logistic._Problem(X, y, n_classes, 3)
    eta = 0.3 * np.random.default_rng(3).standard_normal((3, problem.m, problem.q))
    curvature = logistic._Curvature(problem, eta)
    shift = np.array([1e-6, 0.05, 0.8])
    R = np.random.default_rng(4).standard_normal(eta.shape)
    live = np.array([2, 0])
    full = curvature.kronecker(shift, thin=False)(R[live], live)
    thin = curvature.kronecker(shift, thin=True)(R[live], live)
    np.testing.assert_allclose(thin, full, rtol=1e-7, atol=1e-9 * np.abs(full).max())


@pytest.mark.parametrize("n_classes", [3, 5])
def test_lean_softmax_equals_the_exact_form(n_classes):
    problem, eta, lambdas = _problem_at_random_point(n_classes)
    value, grad = logistic._objective(problem, eta, lambdas)
    lean_value, lean_grad = logistic._objective(problem, eta, lambdas, lean=True)
    np.testing.assert_allclose(lean_value, value, rtol=1e-13)
    np.testing.assert_allclose(lean_grad, grad, rtol=1e-11, atol=1e-15)


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_batched_equals_one_lambda_at_a_time(n_classes, solver):
    X, y = _data(n_classes, seed=3)
    lambdas = np.r_[0.0, LAMBDAS]
    together = solve_logistic(X, y, n_classes, lambdas, solver=solver)
    for k, lam in enumerate(lambdas):
        alone = solve_logistic(X, y, n_classes, np.array([lam]), solver=solver)
        scale = np.abs(together.coef[k]).max()
        np.testing.assert_allclose(alone.coef[0], together.coef[k], rtol=0, atol=1e-9 * scale)
        np.testing.assert_allclose(alone.intercept[0], together.intercept[k], atol=1e-9 * scale)
        assert alone.converged[0] == together.converged[k]


@pytest.mark.parametrize("n_classes", [2, 5])
def test_more_penalty_smaller_weights_and_larger_training_loss(n_classes):
    X, y = _data(n_classes, seed=4)
    data = Dataset(X, y, X[:10], y[:10], CLASSIFICATION, [str(c) for c in range(n_classes)])
    lambdas = np.r_[0.0, np.logspace(-6, 1, 15)]
    fit = fit_logistic(data, lambdas, seed=0, options=LogisticModel(name="logistic"))
    assert fit.metrics["converged"].all()
    assert np.all(np.diff(fit.weight_sq_norm) <= 1e-12 * fit.weight_sq_norm[:-1])
    assert np.all(np.diff(fit.train_loss) >= -1e-12 * fit.train_loss[1:])
    assert fit.weight_sq_norm[-1] < 0.01 * fit.weight_sq_norm[0]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_lambda_zero_on_separable_data_stays_finite_and_unconverged(n_classes, solver):
    X, y = _data(n_classes, n=80, d=5, separable=True)
    lambdas = np.array([0.0, 1e-3, 1e-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = solve_logistic(X, y, n_classes, lambdas, tol=1e-8, max_iter=60, solver=solver)
        loss, accuracy = cross_entropy(X, y, path)
    assert np.all(np.isfinite(path.coef)) and np.all(np.isfinite(path.intercept))
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(path.grad_norm))
    assert path.converged.tolist() == [False, True, True]
    assert path.iterations[0] == 60  # it kept going (θ runs off to infinity) until max_iter
    assert accuracy[0] == 1.0 and loss[0] < 1e-6


def test_lambda_zero_with_an_optimum_converges():
    X, y = _data(3, seed=5)
    X = np.hstack([X, X[:, :2], np.zeros((len(X), 1))])  # duplicated and constant columns
    path = solve_logistic(X, y, 3, np.array([0.0, 1e-2]))
    assert path.converged.all()
    grad = _gradient(X, y, path.coef[0], path.intercept[0], 0.0)
    assert np.abs(grad).max() <= 1e-8
    assert np.all(path.coef[:, :, -1] == 0.0)  # a constant column keeps a zero weight


def test_a_class_missing_from_training_data_stays_finite():
    X, y = _data(3, seed=6)
    y = np.where(y == 2, 0, y)  # class 2 never seen: its intercept would run to −∞
    path = solve_logistic(X, y, 3, np.array([1e-2]), max_iter=60)
    assert np.all(np.isfinite(path.coef)) and np.all(np.isfinite(path.intercept))
    assert path.intercept[0, 2] < -10  # P(class 2) → 0 until the gradient is below tol
    assert path.grad_norm[0] <= 1e-8 or not path.converged[0]


def test_chunked_rows_and_lambda_groups_give_the_same_solution(monkeypatch):
    X, y = _data(3, n=700, seed=7)
    lambdas = np.r_[0.0, LAMBDAS]
    reference = {solver: solve_logistic(X, y, 3, lambdas, solver=solver) for solver in SOLVERS}
    monkeypatch.setattr(logistic, "_CHUNK_ELEMENTS", 1)  # chunks of _MIN_ROWS rows
    monkeypatch.setattr(logistic, "_MIN_ROWS", 50)  # 14 chunks, the last one short
    monkeypatch.setattr(logistic, "_OUTER_ELEMENTS", 0)  # outer products not cached
    monkeypatch.setattr(logistic, "_HESSIAN_ELEMENTS", 3 * (2 * 9) ** 2 * 2)  # 2 λ per group
    for solver in SOLVERS:
        chunked = solve_logistic(X, y, 3, lambdas, solver=solver)
        np.testing.assert_allclose(chunked.coef, reference[solver].coef, rtol=0, atol=1e-9)
        loss, _ = cross_entropy(X, y, chunked)
        np.testing.assert_allclose(loss, cross_entropy(X, y, reference[solver])[0], rtol=1e-12)


def test_auto_takes_the_cheaper_direction(monkeypatch):
    X, y = _data(2, seed=8)
    calls = []
    for name in ("_dense_directions", "_lbfgs"):
        original = getattr(logistic, name)
        monkeypatch.setattr(logistic, name, lambda *a, o=original, n=name: calls.append(n) or o(*a))
    solve_logistic(X, y, 2, LAMBDAS)
    assert set(calls) == {"_dense_directions"}
    calls.clear()
    monkeypatch.setattr(logistic, "_CG_STEPS_GUESS", 0)  # Hessians never pay: L-BFGS
    solve_logistic(X, y, 2, LAMBDAS)
    assert "_lbfgs" in calls
    monkeypatch.undo()
    digits_like = logistic._Problem(np.zeros((1300, 64)), np.arange(1300) % 10, 10, K=30)
    assert not logistic._prefers_dense(digits_like)  # 585 parameters per λ: L-BFGS


def test_repeatable_and_empty_grid():
    X, y = _data(3, seed=9)
    first = solve_logistic(X, y, 3, LAMBDAS)
    again = solve_logistic(X, y, 3, LAMBDAS)
    assert np.array_equal(first.coef, again.coef) and np.array_equal(
        first.iterations, again.iterations
    )
    empty = solve_logistic(X, y, 3, np.array([]))
    assert isinstance(empty, LogisticPath) and empty.coef.shape == (0, 3, X.shape[1])
    with pytest.raises(ValueError, match="lambdas"):
        solve_logistic(X, y, 3, np.array([-1.0]))


def test_lbfgs_hands_what_it_leaves_to_newton(monkeypatch):
    X, y = _data(4, seed=10)
    lambdas = np.r_[0.0, LAMBDAS]
    monkeypatch.setattr(logistic, "_LBFGS_STEPS_PER_NEWTON", 0.03)  # 3 steps, then Newton
    path = solve_logistic(X, y, 4, lambdas, tol=1e-9, max_iter=100, solver="lbfgs")
    assert path.converged.all() and np.all(path.grad_norm <= 1e-9)
    assert np.all(path.iterations[1:] > 3)  # 3 L-BFGS steps and some Newton steps
    reference = solve_logistic(X, y, 4, lambdas, tol=1e-9, solver="dense")
    np.testing.assert_allclose(path.coef, reference.coef, rtol=0, atol=1e-7)


def test_the_solver_runs_blas_on_one_thread(monkeypatch):
    from threadpoolctl import threadpool_info

    seen = []
    original = logistic._logits
    monkeypatch.setattr(
        logistic,
        "_logits",
        lambda *a: (
            seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
            or original(*a)
        ),
    )
    X, y = _data(3, seed=11)
    solve_logistic(X, y, 3, LAMBDAS)
    assert seen and all(threads == {1} for threads in seen)


def test_the_memory_estimate_counts_the_per_sample_curvature():
    # 4 000 classes on 45 000 training rows: Newton-CG's two (classes × rows) arrays of one λ
    # are 2.9 GB, which the estimate left out (the sweep then ran out of memory)
    from wdcli.models.costs import Shape, newton_memory

    n, classes, d, K = 45_000, 4_000, 5, 7
    p = (d + 1) * classes
    ((nbytes, what),) = newton_memory(None, Shape(n, 15_000, d, classes), K, 1, K).values()
    assert nbytes == 8 * (26 * K * p + 2**24 + (2 * classes + 1) * n + 2**22)
    assert what == "7 λ's weights, Hessians and per-sample curvature, 4000 classes × 45000 rows"
    binary, _ = newton_memory(None, Shape(n, 0, d, 1), K, 1, K)["lambdas"]
    assert binary == 8 * (26 * K * (d + 1) + K * (d + 1) ** 2 + 2 * n + 2**22)
