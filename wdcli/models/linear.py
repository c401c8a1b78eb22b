"""Ridge regression: the whole λ path from one factorisation of the standardised X.

    J(w, b) = (1/n)·‖y − Xw − b‖² + λ·‖w‖²      (b unpenalised)
    ⇒ b = ȳ − x̄ᵀw,  (XcᵀXc + nλI) w = Xcᵀ yc,   Xc, yc centred

With the thin SVD Xc = U·diag(s)·Vᵀ every λ costs only a diagonal scaling:

    w(λ) = V · diag(s / (s² + nλ)) · Uᵀ yc,        df(λ) = Σ s² / (s² + nλ)

λ = 0 gives the minimum-norm least-squares solution (singular values below the rank cut-off
are dropped). This is scikit-learn's Ridge(alpha = n·λ) on the same X, for every λ at once.
"""

from __future__ import annotations

import numpy as np

from wdcli.config import LinearModel
from wdcli.data import Dataset
from wdcli.models import Fit

# eigh squares the condition number of X; above this ratio of largest to smallest eigenvalue
# of the Gram matrix (cond(X) > 1e4) `auto` switches to the SVD.
_EIGH_MAX_CONDITION = 1e8


def ridge_factor(X: np.ndarray, solver: str = "auto") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Factor a centred X (n, d) as X = U·diag(s)·Vᵀ with s > 0 (rank r).

    Returns (U (n, r), s (r,), V (d, r)). `eigh` reaches the same factors through the
    eigendecomposition of the smaller Gram matrix (XᵀX or XXᵀ), several times faster than
    the SVD but with cond(X)² in its error; `auto` takes it only when X is well conditioned.
    """
    if solver == "svd":
        return _factor_by_svd(X)
    U, s, V = _factor_by_eigh(X)
    # Centring costs one dimension, so a centred X of full rank has rank min(n − 1, d).
    full_rank = min(X.shape[0] - 1, X.shape[1])
    if solver == "auto" and (len(s) < full_rank or s[-1] ** 2 * _EIGH_MAX_CONDITION < s[0] ** 2):
        return _factor_by_svd(X)
    return U, s, V


def _factor_by_svd(X: np.ndarray):
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    r = _rank(s, X.shape)
    return U[:, :r], s[:r], Vt[:r].T


def _factor_by_eigh(X: np.ndarray):
    n, d = X.shape
    tall = n >= d
    gram = X.T @ X if tall else X @ X.T  # (min(n, d), min(n, d))
    eigvals, eigvecs = np.linalg.eigh(gram)
    eigvals, eigvecs = eigvals[::-1], eigvecs[:, ::-1]  # descending
    r = _rank(eigvals, X.shape)  # eigenvalues carry errors of eps·s_max², so cut there
    s, eigvecs = np.sqrt(eigvals[:r]), eigvecs[:, :r]
    other = (X @ eigvecs if tall else X.T @ eigvecs) / s  # the other singular vectors
    return (other, s, eigvecs) if tall else (eigvecs, s, other)


def _rank(s: np.ndarray, shape: tuple[int, int]) -> int:
    """Singular values above max(n, d)·eps·s_max count (numpy's matrix_rank rule)."""
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.sum(s > s[0] * max(shape) * np.finfo(s.dtype).eps))


def ridge_path(
    X: np.ndarray, y: np.ndarray, lambdas: np.ndarray, solver: str = "auto"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge weights for every λ from one factorisation.

    X (n, d), y (n,), lambdas (K,). Returns W (K, d), intercepts b (K,), df (K,).
    """
    n = X.shape[0]
    x_mean, y_mean = X.mean(axis=0), y.mean()
    U, s, V = ridge_factor(X - x_mean, solver)
    Uty = U.T @ (y - y_mean)  # (r,)
    shrink = s / (s**2 + n * lambdas[:, None])  # (K, r): s/(s² + nλ)
    W = (shrink * Uty) @ V.T  # (K, d)
    df = np.sum(s**2 / (s**2 + n * lambdas[:, None]), axis=1)
    return W, y_mean - W @ x_mean, df


def mean_squared_error(X: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(1/n)·‖y − XWᵀ − b‖² for each of the K rows of W, in row chunks of bounded memory."""
    K = W.shape[0]
    total = np.zeros(K)
    chunk = max(1, 2**22 // max(K, 1))  # ≤ 4M floats (32 MB) of predictions at a time
    for start in range(0, X.shape[0], chunk):
        residual = y[start : start + chunk, None] - X[start : start + chunk] @ W.T - b
        total += np.einsum("ik,ik->k", residual, residual)
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
