"""Ridge regression: the whole λ path from one factorisation of the standardised X.

    J(w, b) = (1/n)·‖y − Xw − b‖² + λ·‖w‖²      (b unpenalised)
    ⇒ b = ȳ − x̄ᵀw,  (XcᵀXc + nλI) w = Xcᵀ yc,   Xc, yc centred

With the thin SVD Xc = U·diag(s)·Vᵀ every λ costs only a diagonal scaling:

    w(λ) = V · diag(s / (s² + nλ)) · Uᵀ yc,        df(λ) = Σ s² / (s² + nλ)

λ = 0 gives the minimum-norm least-squares solution (singular values below the rank cut-off
are dropped). This is scikit-learn's Ridge(alpha = n·λ) on the same X, for every λ at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from wdcli.data import Dataset
from wdcli.models import Fit

if TYPE_CHECKING:
    from wdcli.config import LinearModel

# eigh squares the condition number of X; above this ratio of largest to smallest eigenvalue
# of the Gram matrix (cond(X) > 1e4) `auto` switches to the SVD.
_EIGH_MAX_CONDITION = 1e8

# Least squares with a residual has a forward error bound of about eps·cond(X)²; beyond
# cond(X) = 1/√eps (≈ 7e7) the bound exceeds the fit itself, and the unpenalised fit is fixed
# only up to rounding: another BLAS build gives other numbers.
UNRESOLVED_CONDITION = 1 / np.sqrt(np.finfo(float).eps)


def ridge_path(
    X: np.ndarray, y: np.ndarray, lambdas: np.ndarray, solver: str = "auto"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge weights for every λ from one factorisation.

    X (n, d), y (n,), lambdas (K,). Returns W (K, d), intercepts b (K,), df (K,).
    `svd` factors X itself; `eigh` factors the smaller Gram matrix (XᵀX or XXᵀ), several
    times faster but with cond(X)² in its error; `auto` takes eigh when X is well conditioned.
    """
    n = X.shape[0]
    x_mean, y_mean = X.mean(axis=0), y.mean()
    yc = y - y_mean
    path = None
    if solver != "svd":
        path = _path_by_eigh(X, x_mean, yc, n * lambdas, strict=solver == "auto")
    if path is None:
        path = _path_by_svd(X - x_mean, yc, n * lambdas)
    W, df = path
    return W, y_mean - W @ x_mean, df


def _path_by_svd(Xc, yc, penalties):
    # Xc = U·diag(s)·Vᵀ  ⇒  w(λ) = V · diag(s/(s² + nλ)) · Uᵀyc
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    r = _rank(s, Xc.shape)
    s, z = s[:r], U[:, :r].T @ yc
    W = (s * z / (s**2 + penalties[:, None])) @ Vt[:r]  # (K, d)
    return W, _df(s**2, penalties)


def _path_by_eigh(X, x_mean, yc, penalties, strict: bool):
    """The path from the Gram matrix's eigendecomposition; None when `strict` and X is too
    ill-conditioned for it (then the SVD is the accurate path).

    For tall X the centred Gram matrix is formed as XᵀX − n·x̄x̄ᵀ without a centred copy of X,
    exact up to rounding of order eps·|x̄|²/var (nil for the standardised X of a sweep)."""
    n, d = X.shape
    tall = n >= d
    if tall:
        Xc = None
        gram = X.T @ X
        gram -= n * np.outer(x_mean, x_mean)
    else:
        Xc = X - x_mean
        gram = Xc @ Xc.T
    eigvals, Q = np.linalg.eigh(gram)
    eigvals, Q = eigvals[::-1], Q[:, ::-1]  # descending: eigvals = s², Q = V (tall) or U (wide)
    r = _rank(eigvals, X.shape)
    full_rank = min(n - 1, d)  # centring costs one dimension
    if strict and (r < full_rank or eigvals[r - 1] * _EIGH_MAX_CONDITION < eigvals[0]):
        return None
    eigvals, Q = eigvals[:r], Q[:, :r]
    if tall:
        # s·Uᵀyc = Vᵀ·Xcᵀyc, so w(λ) = V · diag(1/(s² + nλ)) · Vᵀ·Xcᵀyc; Xcᵀyc = Xᵀyc as Σyc = 0
        z = Q.T @ (X.T @ yc)
        W = (z / (eigvals + penalties[:, None])) @ Q.T
    else:
        # w(λ) = Xcᵀ · U · diag(1/(s² + nλ)) · Uᵀyc: the dual form, never forming V
        z = Q.T @ yc
        W = ((z / (eigvals + penalties[:, None])) @ Q.T) @ Xc
    return W, _df(eigvals, penalties)


def _df(eigvals: np.ndarray, penalties: np.ndarray) -> np.ndarray:
    """Effective degrees of freedom Σ s²/(s² + nλ) for each λ."""
    return np.sum(eigvals / (eigvals + penalties[:, None]), axis=1)


def _rank(values: np.ndarray, shape: tuple[int, int]) -> int:
    """How many of the descending values count: those above max(n, d)·eps·largest.

    numpy's matrix_rank rule, applied to s for the SVD and to s² for eigh (whose eigenvalues
    carry errors of about eps·s_max²)."""
    if values.size == 0 or values[0] <= 0:
        return 0
    return int(np.sum(values > values[0] * max(shape) * np.finfo(values.dtype).eps))


def zero_lambda_note(X: np.ndarray) -> str | None:
    """A warning for λ = 0 when the training X is too ill-conditioned for the unpenalised fit
    to be fixed by anything but rounding; None when it is fine."""
    s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    rank = _rank(s, X.shape)
    if rank == 0 or s[0] <= s[rank - 1] * UNRESOLVED_CONDITION:
        return None
    return (
        f"λ = 0: the training features have condition number {s[0] / s[rank - 1]:.2g} "
        f"(above 1/√eps ≈ {UNRESOLVED_CONDITION:.1g}), so the unpenalised fit is fixed only "
        "up to rounding and differs between machines and BLAS builds"
    )


def mean_squared_error(X: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(1/n)·‖y − XWᵀ − b‖² for each of the K rows of W, in row chunks of bounded memory."""
    K = W.shape[0]
    total = np.zeros(K)
    chunk = max(1, 2**20 // max(K, 1))  # ≤ 1M floats (8 MB) of predictions at a time
    for start in range(0, X.shape[0], chunk):
        residual = X[start : start + chunk] @ W.T  # (rows, K), worked on in place
        residual += b
        residual -= y[start : start + chunk, None]
        np.square(residual, out=residual)
        total += residual.sum(axis=0)
    return total / max(X.shape[0], 1)


def fit_ridge_path(data: Dataset, lambdas: np.ndarray, seed: int, options: LinearModel) -> Fit:
    """The `linear` model: exact ridge for every λ (the seed plays no part beyond the data)."""
    lambdas = np.asarray(lambdas, dtype=float)
    W, b, df = ridge_path(data.X_train, data.y_train, lambdas, options.solver)
    return Fit(
        train_loss=mean_squared_error(data.X_train, data.y_train, W, b),
        test_loss=mean_squared_error(data.X_test, data.y_test, W, b),
        weight_sq_norm=np.einsum("kd,kd->k", W, W),
        metrics={"df": df},
    )


LEVERAGE_ONE = 1e-10  # 1 − H_ii at λ = 0 below this: a sample the unpenalised fit interpolates


def ridge_loo(
    X: np.ndarray, y: np.ndarray, lambdas: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact leave-one-out residuals of ridge (intercept unpenalised) for every λ.

    With Xc = U·diag(s)·Vᵀ the hat matrix is H = 11ᵀ/n + U·diag(s²/(s² + nλ))·Uᵀ, and the
    residual of sample i when it is left out is e_i = r_i / (1 − H_ii) (r the full fit's
    residual). Each left-out fit keeps the full fit's penalty nλ‖w‖², as scikit-learn's
    RidgeCV(alphas = n·λ) does. Returns E (K, n) = e², and the full fit's W, b, df.
    """
    n = X.shape[0]
    x_mean, y_mean = X.mean(axis=0), y.mean()
    Xc, yc = X - x_mean, y - y_mean
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    r = _rank(s, Xc.shape)
    U, s, Vt = U[:, :r], s[:r], Vt[:r]
    z = U.T @ yc
    inverse = 1.0 / (s**2 + n * lambdas[:, None])  # (K, r)
    shrink = s**2 * inverse  # (K, r)
    residual = yc - (shrink * z) @ U.T  # (K, n)
    leverage = 1.0 / n + shrink @ (U**2).T  # (K, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        loo = residual / (1.0 - leverage)
    # A sample whose leverage is 1 at λ = 0 (the fit interpolates every row, or only it holds
    # a category) has r_i and 1 − H_ii both carrying a factor nλ (1 and U span e_i), which
    # cancels: e_i = [U·(z/(s² + nλ))]_i / [U²·1/(s² + nλ)]_i, exact at any λ and, at λ = 0,
    # the minimum-norm refit's (it was 0/0: garbage or "diverged")
    alone = 1.0 - 1.0 / n - np.sum(U**2, axis=1) < LEVERAGE_ONE  # (n,)
    if alone.any():
        Ua = U[alone]
        loo[:, alone] = (inverse * z) @ Ua.T / (inverse @ (Ua**2).T)
    W = (s * z * inverse) @ Vt
    return loo**2, W, y_mean - W @ x_mean, _df(s**2, n * lambdas)


def fit_ridge_loo(data: Dataset, lambdas: np.ndarray, seed: int, options: LinearModel) -> Fit:
    """Leave-one-out on the training split: test_loss is the mean squared LOO error."""
    lambdas = np.asarray(lambdas, dtype=float)
    E, W, b, df = ridge_loo(data.X_train, data.y_train, lambdas)
    return Fit(
        train_loss=mean_squared_error(data.X_train, data.y_train, W, b),
        test_loss=E.mean(axis=1),
        weight_sq_norm=np.einsum("kd,kd->k", W, W),
        metrics={"df": df},
        pointwise=E,
    )
