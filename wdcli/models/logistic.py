"""Logistic (two classes) and softmax (more) regression, every λ of a sweep solved together.

    J(W, b) = (1/n)·Σᵢ CE(yᵢ, f(W xᵢ + b)) + λ·‖W‖²       (b unpenalised)

f is the sigmoid of one output for two classes and the softmax of C outputs above (the full
C-class parametrisation, as scikit-learn's multinomial). The minimiser is scikit-learn's
LogisticRegression(C = 1 / (2·n·λ)) on the same X.

Softmax is unchanged when one vector is added to every class's row of (W, b), so only the part
of (W, b) whose rows sum to zero is identifiable; that is also where the minimiser lies (for
λ > 0 the penalty forces ΣW_c = 0; for b and for λ = 0 it is the minimum-norm choice). We
therefore solve in an orthonormal basis Q (C, C−1) of that subspace: θ = Q·η, ‖W‖² = ‖η_W‖²,
and the Hessian in η is not singular by construction.

All K = len(λ) problems share X, so they run as one: parameters η (K, m, q) with m outputs
(1 or C − 1) and q = d + 1 columns (the last is the intercept). Each Newton iteration forms the
K Hessians with one GEMM, solves them with one batched `np.linalg.solve` and takes a
backtracking (Armijo) step; λ that have converged are frozen while the others go on. When the
Hessians would cost more than they save (many parameters, or many samples and a few hundred
parameters), the λ > 0 are solved by stacked L-BFGS instead (one GEMM per evaluation for all,
a history and line search per λ), and Newton with Kronecker-preconditioned CG directions
finishes λ = 0 and anything L-BFGS leaves. See docs/logistic.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.linalg import helmert
from scipy.special import expit, log_expit

from wdcli.data import Dataset
from wdcli.models import Fit

LinkState = tuple[np.ndarray, ...]
"""What `_link` keeps for the derivatives: (σ(z), σ(−z)) binary, (δ, e_t mask, t) softmax."""
Product = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(v, live) -> a matrix of the systems `live` applied to v (a product or a preconditioner)."""

if TYPE_CHECKING:
    from wdcli.config import LogisticModel

_CHUNK_ELEMENTS = 2**15  # per-sample arrays are built in row chunks of ≤ 32k floats (256 KB)
_MIN_ROWS = 32  # but of at least this many rows (fewer would be Python-bound)
_HESSIAN_CHUNK_ELEMENTS = 2**18  # the packed curvature for dense Hessians: 256k floats
_OUTER_ELEMENTS = 2**22  # packed outer products x̃x̃ᵀ are kept when they fit in 4M floats
_HESSIAN_ELEMENTS = 2**24  # dense Hessians are formed for groups of λ within 16M floats
_CG_STEPS_GUESS = 25  # `auto` prices a Newton-CG direction at this many CG iterations
_CG_MAX_ITER = 1000  # conjugate-gradient iterations per Newton step, at most
_LEVENBERG = 1e-10  # damping μ = _LEVENBERG · mean diag(H): keeps a flat Hessian invertible
_BLAS_THREADS = 1  # the solver's GEMMs are small: one BLAS thread (see solve_logistic)
_LBFGS_MEMORY = 10  # L-BFGS keeps the last 10 steps and gradient changes
_LBFGS_STEPS_PER_NEWTON = 10  # and takes up to 10·max_iter steps before Newton finishes
_ARMIJO = 1e-4  # sufficient decrease: J(η + t·d) ≤ J(η) + _ARMIJO · t · ∇Jᵀd
_MAX_HALVINGS = 40  # backtracking gives up (the λ stalls) below t = 2⁻⁴⁰
_ROUNDOFF = 64 * np.finfo(float).eps  # a change of J below this fraction is rounding noise


@dataclass
class LogisticPath:
    """The solution for K values of λ.

    coef (K, m, d) and intercept (K, m), m = 1 for two classes (the sigmoid's logit of class 1)
    and m = C above; iterations (K,) Newton steps taken; grad_norm (K,) the final max-norm of
    ∇J over (coef, intercept); converged (K,) whether grad_norm ≤ tol with a small final step.
    """

    coef: np.ndarray
    intercept: np.ndarray
    iterations: np.ndarray
    grad_norm: np.ndarray
    converged: np.ndarray


def fit_logistic(data: Dataset, lambdas: np.ndarray, seed: int, options: LogisticModel) -> Fit:
    """The `logistic` model: every λ solved to `options.tol` by batched Newton.

    The problem is convex and the solver deterministic, so `seed` plays no part beyond the data.
    """
    lambdas = np.asarray(lambdas, dtype=float)
    path = solve_logistic(
        data.X_train, data.y_train, data.n_classes, lambdas, options.tol, options.max_iter
    )
    from threadpoolctl import threadpool_limits

    # as the solver: one BLAS thread, so that serial (the machine's threads) and worker
    # processes (one each) round the losses alike, bit for bit
    with threadpool_limits(limits=_BLAS_THREADS, user_api="blas"):
        train_loss, train_accuracy = cross_entropy(data.X_train, data.y_train, path)
        test_loss, test_accuracy = cross_entropy(data.X_test, data.y_test, path)
    return Fit(
        train_loss=train_loss,
        test_loss=test_loss,
        weight_sq_norm=np.einsum("kmd,kmd->k", path.coef, path.coef),
        metrics={
            "train_accuracy": train_accuracy,
            "test_accuracy": test_accuracy,
            "iterations": path.iterations,
            "grad_norm": path.grad_norm,
            "converged": path.converged,
        },
        diverged=~(np.isfinite(train_loss) & np.isfinite(test_loss)),
        # Both tests: a gradient below tol alone stops λ = 0 on separable classes (no
        # minimiser: θ runs off to infinity) anywhere on its way, max_iter deciding its numbers
        not_converged=~path.converged,
    )


# --------------------------------------------------------------------------- the problem


class _Problem:
    """X with a column of ones, the labels, the class basis Q and the row chunks.

    Parameters η (K, m, q) give the full (coef, intercept) θ = Q·η (K, C', q) of C' outputs:
    binary C' = m = 1 (the logit of class 1, Q = [[1]]); softmax C' = C, m = C − 1, Q (C, C − 1)
    orthonormal columns orthogonal to the ones vector. Per-sample arrays are laid out
    (outputs, K, rows), so that sums over classes run over the leading axis.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, n_classes: int, K: int):
        n, d = X.shape
        self.n, self.d, self.q = n, d, d + 1
        self.X1 = _with_ones(X)  # (n, q)
        self.y = np.asarray(y, dtype=np.int64)
        self.n_classes = n_classes
        self.binary = n_classes == 2
        self.onehot = (np.arange(n_classes)[:, None] == self.y).astype(float)  # (C, n)
        self.Q = np.ones((1, 1)) if self.binary else helmert(n_classes).T  # (C', m)
        self.m = self.Q.shape[1]
        self.p = self.m * self.q  # parameters per λ
        self.K = K
        self._outer: dict[
            int, np.ndarray
        ] = {}  # packed outer products x̃ x̃ᵀ per chunk, kept when they fit

    def chunks(self, width: int | None = None) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(start, X̃ rows, y rows) in chunks of bounded memory: of `width` floats a row
        (default: sized for the packed curvature of all K, the partition _hessians uses)."""
        rows = self.rows if width is None else _rows(width)
        for start in range(0, self.n, rows):
            stop = start + rows
            yield start, self.X1[start:stop], self.y[start:stop]

    # What the dense Hessians alone use, built when they are: at 4 000 classes QQ alone would
    # take 238 GiB, and at d = 20 000 pairs_q 3.2 GB, whatever the solver.

    @functools.cached_property
    def pairs_m(self) -> tuple[np.ndarray, np.ndarray]:
        """The (a ≤ b) index pairs of m."""
        return np.triu_indices(self.m)

    @functools.cached_property
    def QQ(self) -> np.ndarray:  # noqa: N802 (Q·Q, as the docs write it)
        """(pairs_m, C'): Q_ca·Q_cb."""
        a, b = self.pairs_m
        return (self.Q[:, a] * self.Q[:, b]).T

    @functools.cached_property
    def rows(self) -> int:
        """The dense Hessians' partition: larger chunks, as their GEMM is what costs there."""
        return max(_MIN_ROWS, _HESSIAN_CHUNK_ELEMENTS // max(self.K * len(self.pairs_m[0]), 1))

    @functools.cached_property
    def pairs_q(self) -> tuple[np.ndarray, np.ndarray]:
        """The (i ≤ j) index pairs of q."""
        return np.triu_indices(self.q)

    def outer(self, start: int, Xc: np.ndarray) -> np.ndarray:
        """Packed outer products: row r holds x̃_ri·x̃_rj for i ≤ j, (rows, q(q+1)/2)."""
        if start in self._outer:
            return self._outer[start]
        i, j = self.pairs_q
        U = Xc[:, i] * Xc[:, j]
        if self.n * len(i) <= _OUTER_ELEMENTS:
            self._outer[start] = U
        return U

    def full(self, eta: np.ndarray) -> np.ndarray:
        """θ = Q·η: (K, m, ·) → (K, C', ·)."""
        return eta if self.binary else np.einsum("cm,km...->kc...", self.Q, eta)

    def reduce(self, theta: np.ndarray) -> np.ndarray:
        """Qᵀ·θ: a gradient over θ (K, C', ·) → over η (K, m, ·)."""
        return theta if self.binary else np.einsum("cm,kc...->km...", self.Q, theta)


def _rows(width: int) -> int:
    """Rows per chunk for per-sample arrays of `width` floats a row.

    Small enough that each array stays in cache (temporaries of a few MB cost page faults on
    every allocation, 10-30x the arithmetic), large enough that GEMMs stay efficient.
    """
    return max(_MIN_ROWS, _CHUNK_ELEMENTS // max(width, 1))


def _with_ones(X: np.ndarray) -> np.ndarray:
    return np.hstack([X, np.ones((len(X), 1))])


def _logits(Xc: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """L = θ·X̃ᵀ for every λ in one GEMM: (rows, q), (K, C', q) → (C', K, rows)."""
    K, c, q = theta.shape
    return (theta.transpose(1, 0, 2).reshape(c * K, q) @ Xc.T).reshape(c, K, len(Xc))


def _link(binary: bool, L: np.ndarray, yc: np.ndarray) -> tuple[np.ndarray, LinkState]:
    """Per-sample loss (K, rows) and what the derivatives need, from logits L (C', K, rows).

    Binary:  loss = log(1 + eᶻ) − y·z; keeps (σ(z), σ(−z)).
    Softmax: loss = logsumexp(L) − L_y = (L_t − L_y) + log(1 + Σ_{c≠t} e^{L_c − L_t}) with t the
             top class; keeps (δ = P − e_t, e_t as a mask, t). Written around the top class,
             loss and derivatives stay exact when the classes separate and P → e_t (λ = 0).
    """
    if binary:
        z = L[0]
        return -log_expit(np.where(yc == 1, z, -z)), (expit(L), expit(-L))
    classes = np.arange(len(L))[:, None, None]
    top = L.argmax(axis=0)[None]  # (1, K, rows)
    is_top = classes == top  # (C, K, rows)
    L_top = np.take_along_axis(L, top, axis=0)[0]
    E = np.exp(L - L_top)
    np.putmask(E, is_top, 0.0)
    others = E.sum(axis=0)  # Σ_{c≠t} e^{L_c − L_t}
    delta = np.where(is_top, -others / (1.0 + others), E / (1.0 + others))  # P − e_t
    L_y = np.where(classes == yc, L, 0.0).sum(axis=0)
    return L_top - L_y + np.log1p(others), (delta, is_top, top)


def _softmax(L: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ over rows of logsumexp(L) − L_y (K,) and P − Y (C, K, rows), overwriting L.

    Y (C, rows) is the one-hot coding of the labels."""
    L -= L.max(axis=0)
    loss = -np.einsum("ckr,cr->k", L, Y)
    P = np.exp(L, out=L)
    total = P.sum(axis=0)
    P /= total
    P -= Y[:, None, :]
    return loss + np.log(total).sum(axis=1), P


def _residual(binary: bool, state: LinkState, yc: np.ndarray) -> np.ndarray:
    """∂loss/∂L = P − Y, (C', K, rows): binary −σ(−z) for y = 1 and σ(z) for y = 0."""
    if binary:
        P1, P0 = state
        return np.where(yc == 1, -P0, P1)
    delta, is_top, _ = state  # P − Y = δ + (e_t − e_y), the bracket exactly 0 where t = y
    shift = is_top.astype(float)
    shift -= np.arange(len(delta))[:, None, None] == yc
    return delta + shift


def _curvature(problem: _Problem, state: LinkState) -> np.ndarray:
    """∂²loss/∂Z² in η's coordinates, packed over pairs a ≤ b: (pairs, K, rows).

    Binary σ(z)σ(−z). Softmax Qᵀ(diag P − P·Pᵀ)Q; with P = e_t + δ, diag P − P·Pᵀ =
    diag δ − e_t·δᵀ − δ·e_tᵀ − δ·δᵀ (no cancellation as P → e_t), so entry (a, b) is
    Σ_c Q_ca·Q_cb·δ_c − q_a·w_b − w_a·q_b − w_a·w_b with w = Qᵀδ, q = Qᵀe_t.
    """
    if problem.binary:
        P1, P0 = state
        return P1 * P0
    delta, _, top = state
    c, K, rows = delta.shape
    w = (problem.Q.T @ delta.reshape(c, K * rows)).reshape(-1, K, rows)  # (m, K, rows)
    q = problem.Q.T[:, top[0]]  # (m, K, rows)
    a, b = problem.pairs_m
    S = (problem.QQ @ delta.reshape(c, K * rows)).reshape(len(a), K, rows)
    S -= q[a] * w[b]
    S -= w[a] * (q + w)[b]
    return S


def _objective(
    problem: _Problem, eta: np.ndarray, lambdas: np.ndarray, lean: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """J (K,) and ∇J over η (K, m, q): ∇J = Qᵀ(P − Y)ᵀX̃/n + 2λ·[η_W, 0].

    `lean` (softmax only) takes the textbook softmax, half the passes over the per-sample
    arrays of _link's form around the top class, exact to rounding of 1 (≈ 1e-16 absolute
    per sample) where _link stays exact relative to tiny losses and residuals (λ = 0 near
    separation). L-BFGS, which stops λ > 0 at max|∇J| ≤ tol ≫ 1e-16, takes the lean form.
    """
    K, m, q = eta.shape
    theta = problem.full(eta)
    c = theta.shape[1]
    value = np.zeros(K)
    grad = np.zeros((c * K, q))
    for start, Xc, yc in problem.chunks(c * K):
        L = _logits(Xc, theta)
        if lean and not problem.binary:
            loss, residual = _softmax(L, problem.onehot[:, start : start + len(yc)])
        else:
            loss, state = _link(problem.binary, L, yc)
            loss, residual = loss.sum(axis=1), _residual(problem.binary, state, yc)
        value += loss
        grad += residual.reshape(c * K, len(yc)) @ Xc
    W = eta[..., :-1]
    value = value / problem.n + lambdas * np.einsum("kmd,kmd->k", W, W)
    grad = problem.reduce(grad.reshape(c, K, q).transpose(1, 0, 2)) / problem.n
    grad[..., :-1] += 2 * lambdas[:, None, None] * W
    return value, grad


# --------------------------------------------------------------------------- Newton directions


def _hessians(problem: _Problem, eta: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """∇²J (K, p, p) = Σ_r S_r ⊗ x̃_r x̃_rᵀ / n + 2λ on the weights, p = m·q.

    Both factors are symmetric, so one GEMM of the packed curvature S (K·pairs_m, rows) with the
    packed outer products (rows, pairs_q) gives every distinct entry of all K Hessians.
    """
    K, m, q = eta.shape
    theta = problem.full(eta)
    pairs_m, pairs_q = len(problem.pairs_m[0]), len(problem.pairs_q[0])
    packed = np.zeros((pairs_m * K, pairs_q))
    for start, Xc, yc in problem.chunks():
        _, state = _link(problem.binary, _logits(Xc, theta), yc)
        S = _curvature(problem, state)
        packed += S.reshape(pairs_m * K, len(yc)) @ problem.outer(start, Xc)
    packed = packed.reshape(pairs_m, K, pairs_q).transpose(1, 0, 2) / problem.n
    H = packed.reshape(K, pairs_m * pairs_q)[:, _unpack_index(m, q)]
    weights = np.flatnonzero(np.arange(problem.p) % q < q - 1)
    H[:, weights, weights] += 2 * lambdas[:, None]
    return H


@functools.lru_cache(maxsize=8)
def _unpack_index(m: int, q: int) -> np.ndarray:
    """For H[a·q + i, b·q + j], its place in the packed (pair(a, b), pair(i, j)) array."""

    def table(size: int) -> np.ndarray:
        t = np.zeros((size, size), dtype=np.int64)
        i, j = np.triu_indices(size)
        t[i, j] = t[j, i] = np.arange(len(i))
        return t

    a, i = np.divmod(np.arange(m * q), q)
    n_pairs_q = q * (q + 1) // 2
    return table(m)[a[:, None], a[None, :]] * n_pairs_q + table(q)[i[:, None], i[None, :]]


def _damp(H: np.ndarray) -> np.ndarray:
    """H + μI with μ = _LEVENBERG · mean diag(H) (and ≥ the tiniest float): never singular."""
    diagonal = np.einsum("kii->ki", H)
    diagonal += (_LEVENBERG * diagonal.mean(axis=1) + np.finfo(float).tiny)[:, None]
    return H


def _dense_directions(
    problem: _Problem, eta: np.ndarray, lambdas: np.ndarray, grad: np.ndarray
) -> np.ndarray:
    """Newton steps d = −(∇²J + μI)⁻¹∇J, in groups of λ whose Hessians fit in memory."""
    K, m, q = eta.shape
    p = problem.p
    group = max(1, _HESSIAN_ELEMENTS // (3 * p * p))
    steps = np.empty((K, p))
    for start in range(0, K, group):
        part = slice(start, start + group)
        H = _damp(_hessians(problem, eta[part], lambdas[part]))
        steps[part] = np.linalg.solve(H, -grad[part].reshape(-1, p, 1))[..., 0]
    return steps.reshape(K, m, q)


def _cg_directions(
    problem: _Problem, eta: np.ndarray, lambdas: np.ndarray, grad: np.ndarray
) -> np.ndarray:
    """Newton steps by preconditioned conjugate gradients on (∇²J + μI)·d = −∇J, all λ at once.

    Only products ∇²J·v = Qᵀ X̃ᵀ(S·(X̃·Qv))/n + 2λ·v_W are needed (two GEMMs, no p×p matrix),
    with S = diag P − P·Pᵀ per sample (σ(1 − σ) for two classes). The preconditioner is the
    Kronecker approximation of _Curvature.kronecker; each λ stops at
    ‖r‖ ≤ min(½, √‖∇J‖)·‖∇J‖ (inexact Newton: superlinear convergence).
    """
    curvature = _Curvature(problem, eta)
    mu = _LEVENBERG * (curvature.trace + 2 * lambdas * problem.m * problem.d) / problem.p
    mu += np.finfo(float).tiny
    precondition = curvature.kronecker(lambdas + mu / 2)

    def product(v: np.ndarray, live: np.ndarray) -> np.ndarray:
        Hv = curvature.product(v, live)
        Hv += mu[live, None, None] * v
        Hv[..., :-1] += 2 * lambdas[live, None, None] * v[..., :-1]
        return Hv

    return _batched_pcg(product, precondition, -grad, min(problem.p, _CG_MAX_ITER))


class _Curvature:
    """The per-sample curvature at η, over all n rows, for products with ∇²J.

    Binary: D = σ(z)σ(−z) (1, K, n). Softmax: δ = P − e_t and the top-class mask e_t
    (C, K, n), from which (diag P − P·Pᵀ)·v = δ⊙(v − v_t − s) − e_t·s with s = δ·v, free of
    the cancellation of 1 − p as p → 1. `weight` (K, n) is tr S per sample (1 − Σ_c p_c²),
    `trace` (K,) the trace of ∇²J's data part.
    """

    def __init__(self, problem: _Problem, eta: np.ndarray):
        self.problem = problem
        K = len(eta)
        theta = problem.full(eta)
        c, n = theta.shape[1], problem.n
        self.arrays = tuple(np.empty((c, K, n)) for _ in range(1 if problem.binary else 2))
        self.weight = np.empty((K, n))
        for start, Xc, yc in problem.chunks(c * K):
            part = slice(start, start + len(yc))
            _, state = _link(problem.binary, _logits(Xc, theta), yc)
            if problem.binary:
                P1, P0 = state
                np.multiply(P1, P0, out=self.arrays[0][:, :, part])
                self.weight[:, part] = self.arrays[0][0, :, part]
            else:
                delta, is_top, _ = state
                self.arrays[0][:, :, part] = delta
                self.arrays[1][:, :, part] = is_top
                size = np.abs(delta)  # p_c(1 − p_c) = |δ_c|(1 − |δ_c|), top class included
                self.weight[:, part] = (size * (1 - size)).sum(axis=0)
        self.trace = self.weight @ np.einsum("rq,rq->r", problem.X1, problem.X1) / n
        self._live: np.ndarray | None = None
        self._sliced = self.arrays

    def _at(self, live: np.ndarray) -> tuple[np.ndarray, ...]:
        """The arrays of the systems `live` (sliced once while `live` stays the same)."""
        if self._live is None or not np.array_equal(live, self._live):
            whole = np.array_equal(live, np.arange(self.arrays[0].shape[1]))
            self._sliced = self.arrays if whole else tuple(a[:, live] for a in self.arrays)
            self._live = live
        return self._sliced

    def product(self, v: np.ndarray, live: np.ndarray) -> np.ndarray:
        """The data part of ∇²J·v for the systems `live`, v (len(live), m, q)."""
        problem = self.problem
        arrays = self._at(live)
        v_full = problem.full(v)
        K, c, q = v_full.shape
        Hv = np.zeros((c * K, q))
        rows = _rows(c * K)
        for start in range(0, problem.n, rows):
            part = slice(start, start + rows)
            Xc = problem.X1[part]
            V = _logits(Xc, v_full)  # (c, K, rows)
            if problem.binary:
                V *= arrays[0][:, :, part]
            else:
                delta, top = arrays[0][:, :, part], arrays[1][:, :, part]
                s = (delta * V).sum(axis=0)
                V -= (top * V).sum(axis=0) + s
                V *= delta
                V -= top * s
            Hv += V.reshape(c * K, len(Xc)) @ Xc
        return problem.reduce(Hv.reshape(c, K, q).transpose(1, 0, 2)) / problem.n

    def kronecker(self, shift: np.ndarray, thin: bool | None = None) -> Product:
        """A preconditioner: v ↦ (A ⊗ B + 2·shift)⁻¹·v per λ, as a function of (R, live).

        ∇²J's data part is (1/n)·Σᵢ Sᵢ ⊗ x̃ᵢx̃ᵢᵀ. With A = (1/n)·Σᵢ Sᵢ (m × m, in η's
        coordinates) and B = Σᵢ wᵢ·x̃ᵢx̃ᵢᵀ / Σᵢ wᵢ (q × q, wᵢ = tr Sᵢ), A ⊗ B is exact when every
        Sᵢ is a multiple of one matrix (always for two classes) and keeps the trace otherwise;
        it captures what Jacobi misses, the correlation of the features among the samples that
        still carry curvature. Its inverse plus a multiple of I comes from the eigenvectors of
        A and B: (U ⊗ V)·diag(1/(aᵢ·bⱼ + 2·shift))·(U ⊗ V)ᵀ.

        With more columns than rows (`thin`, by default q > n) B has rank ≤ n: its r = n
        eigenpairs come from a thin SVD of √w·X̃ (n × q), and its null space gets 1/(2·shift),
        as the q × q eigendecomposition gives it. That eigendecomposition, O(q³) at every
        Newton step, took minutes a step at d = 4 000 and ignored Ctrl-C meanwhile.
        """
        problem = self.problem
        n, q = problem.n, problem.q
        thin = q > n if thin is None else thin
        b, V = self._features_thin() if thin else self._features()
        if problem.binary:
            A = self.weight.sum(axis=1)[:, None, None] / n
        else:
            delta = self.arrays[0].transpose(1, 0, 2)  # (K, C, n)
            top = self.arrays[1].transpose(1, 0, 2)
            cross = top @ delta.transpose(0, 2, 1)
            full = -(cross + cross.transpose(0, 2, 1) + delta @ delta.transpose(0, 2, 1))
            full[:, np.arange(problem.n_classes), np.arange(problem.n_classes)] += delta.sum(axis=2)
            A = problem.Q.T @ full @ problem.Q / n
        a, U = np.linalg.eigh(A)
        scale = np.maximum(a, 0)[:, :, None] * np.maximum(b, 0)[:, None, :]
        scale += 2 * shift[:, None, None]
        Ut, Vt = U.transpose(0, 2, 1), V.transpose(0, 2, 1)

        def apply(R: np.ndarray, live: np.ndarray) -> np.ndarray:
            T = Ut[live] @ R
            inside = T @ V[live]  # the part in B's eigenvectors (all of it unless thin)
            result = U[live] @ (inside / scale[live]) @ Vt[live]
            if thin:  # B's null space: eigenvalue 0, so 1/(2·shift)
                result += U[live] @ ((T - inside @ Vt[live]) / (2 * shift[live, None, None]))
            return result

        return apply

    def _features(self) -> tuple[np.ndarray, np.ndarray]:
        """B's eigenpairs (K, q), (K, q, q): B = Σᵢ wᵢ·x̃ᵢx̃ᵢᵀ / Σᵢ wᵢ, built q × q."""
        problem = self.problem
        K, q = self.weight.shape[0], problem.q
        B = np.zeros((K, q, q))
        rows = _rows(K * q)
        for start in range(0, problem.n, rows):
            Xc = problem.X1[start : start + rows]
            B += (Xc.T * self.weight[:, None, start : start + rows]) @ Xc
        B /= np.maximum(self.weight.sum(axis=1), np.finfo(float).tiny)[:, None, None]
        return np.linalg.eigh(B)

    def _features_thin(self) -> tuple[np.ndarray, np.ndarray]:
        """B's eigenpairs of its row space (K, r), (K, q, r), r = min(n, q), from the thin SVD
        of √w·X̃: B = Vᵀ·diag(s²)·V / Σᵢ wᵢ."""
        X1, weight = self.problem.X1, np.maximum(self.weight, 0)
        total = np.maximum(weight.sum(axis=1), np.finfo(float).tiny)
        pairs = [np.linalg.svd(np.sqrt(w)[:, None] * X1, full_matrices=False)[1:] for w in weight]
        b = np.stack([s**2 for s, _ in pairs]) / total[:, None]
        return b, np.stack([Vt.T for _, Vt in pairs])


def _batched_pcg(
    product: Product, precondition: Product, b: np.ndarray, max_iter: int
) -> np.ndarray:
    """Solve A_k·x_k = b_k for every k by preconditioned conjugate gradients.

    product(v, live) gives A·v and precondition(r, live) M⁻¹·r for the systems `live`; b is
    (K, m, q). System k stops at ‖r_k‖ ≤ min(½, √‖b_k‖)·‖b_k‖; the others go on.
    """

    def dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.einsum("kmq,kmq->k", u, v)

    x = np.zeros_like(b)
    r = b.copy()
    z = precondition(r, np.arange(len(b)))
    direction = z.copy()
    rz = dot(r, z)
    norm_b = np.sqrt(dot(b, b))
    forcing = np.minimum(0.5, np.sqrt(norm_b)) * norm_b
    live = np.flatnonzero(norm_b > 0)
    for _ in range(max_iter):
        if live.size == 0:
            break
        Ad = product(direction[live], live)
        alpha = rz[live] / dot(direction[live], Ad)
        x[live] += alpha[:, None, None] * direction[live]
        r[live] -= alpha[:, None, None] * Ad
        z[live] = precondition(r[live], live)
        rz_new = dot(r[live], z[live])
        beta = rz_new / rz[live]
        rz[live] = rz_new
        direction[live] = z[live] + beta[:, None, None] * direction[live]
        live = live[np.sqrt(dot(r[live], r[live])) > forcing[live]]
    return x


# --------------------------------------------------------------------------- the solver


def solve_logistic(
    X: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    lambdas: np.ndarray,
    tol: float = 1e-8,
    max_iter: int = 100,
    solver: str = "auto",
) -> LogisticPath:
    """Minimise J for every λ at once by damped Newton with backtracking.

    X (n, d) features, y (n,) class codes 0…C−1, lambdas (K,) ≥ 0. A λ stops when the max-norm
    of ∇J is ≤ tol and its Newton step is small (max-norm ≤ √tol·(1 + max|θ|)): at λ = 0 a
    minimiser may not exist (separable classes: ∇J → 0 while θ runs off to infinity), and such
    a λ ends at max_iter with converged False; at a tiny λ > 0 a small gradient is still far
    from the minimiser.
    `solver`: "dense" (stacked Hessians), "cg" (Hessian-free), "lbfgs" (stacked L-BFGS for
    λ > 0, then Newton-CG for λ = 0 and any λ it leaves unconverged) or "auto" ("dense" when
    a Newton direction costs fewer flops that way, see _prefers_dense, else "lbfgs").
    """
    lambdas = np.asarray(lambdas, dtype=float)
    if lambdas.ndim != 1 or not np.all(np.isfinite(lambdas) & (lambdas >= 0)):
        raise ValueError("lambdas: must be a 1-D array of finite values ≥ 0")
    K = len(lambdas)
    problem = _Problem(np.asarray(X, dtype=float), y, n_classes, K)
    if solver == "auto":
        solver = "dense" if _prefers_dense(problem) else "lbfgs"
    directions = _dense_directions if solver == "dense" else _cg_directions
    eta = _initial(problem, K)
    # Its GEMMs are ≤ ~1e8 flops and the element-wise work between them is single-threaded,
    # so more BLAS threads gain little; on a busy machine OpenBLAS's spinning threads made the
    # digits sweep 10x slower (docs/logistic.md). Threads free for other work are better used.
    from threadpoolctl import threadpool_limits

    with (
        threadpool_limits(limits=_BLAS_THREADS, user_api="blas"),
        np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"),
    ):
        steps = np.zeros(K, dtype=np.int64)
        if solver == "lbfgs":  # Newton then checks them and finishes what L-BFGS left
            steps = _lbfgs(problem, eta, lambdas, tol, int(_LBFGS_STEPS_PER_NEWTON * max_iter))
        grad, iterations, converged = _newton(problem, eta, lambdas, tol, max_iter, directions)
        iterations += steps
    theta = problem.full(eta)
    return LogisticPath(
        coef=theta[..., :-1],
        intercept=theta[..., -1],
        iterations=iterations,
        grad_norm=_max_abs(problem.full(grad)),
        converged=converged,
    )


Directions = Callable[[_Problem, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""(problem, eta, lambdas, grad) -> Newton steps (K, m, q): _dense_directions or _cg_directions."""


def _newton(
    problem: _Problem,
    eta: np.ndarray,
    lambdas: np.ndarray,
    tol: float,
    max_iter: int,
    directions: Directions,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton iterations on the λ not yet converged; updates eta in place.

    A λ converges when its gradient is small and so is its Newton step: at λ = 0 a minimiser
    may not exist (separable classes: ∇J → 0 as θ runs off to infinity), and at a tiny λ > 0
    the curvature 2λ is so small that a gradient below tol is still far from the minimiser
    (λ = 1e-12 stopped with 5× its J and 85 % off its test loss). Returns ∇J, iterations,
    converged.
    """
    K = len(lambdas)
    value, grad = _objective(problem, eta, lambdas)
    iterations = np.zeros(K, dtype=np.int64)
    converged = np.zeros(K, dtype=bool)
    active = np.arange(K)
    for it in range(max_iter + 1):
        small = _max_abs(problem.full(grad[active])) <= tol
        # where the gradient alone pins J to within √tol·J (as the step test pins θ), no
        # Newton step is needed to trust it (one for every λ made the digits sweep 1.6×
        # slower): J is 2λ-strongly convex in the weights, so J − J* ≤ ‖∇J‖²/(4λ) ≤
        # p·tol²/(4λ). A tiny λ (1e-12: 5× its J at a small gradient) still takes the step test
        pinned = small & (
            problem.p * tol**2 <= 4 * lambdas[active] * np.sqrt(tol) * np.abs(value[active])
        )
        converged[active[pinned]] = True
        active, small = active[~pinned], small[~pinned]
        if it == max_iter:  # only the step test is left to do
            active, small = active[small], small[small]
        if active.size == 0:
            break
        steps = directions(problem, eta[active], lambdas[active], grad[active])
        finished = small & _small_step(problem, eta[active], steps, tol)
        zero = lambdas[active] == 0  # also: the step would gain little of what J has left,
        # and J is not next to 0 (on separable classes it underflows and so does ∇J)
        separated = value[active] <= tol
        finished &= ~zero | (_small_decrement(grad[active], steps, value[active], tol) & ~separated)
        converged[active[finished]] = True
        active, steps = active[~finished], steps[~finished]
        if it == max_iter or active.size == 0:
            break
        moved = _line_search(problem, eta, value, grad, lambdas, active, steps)
        iterations[active[moved]] += 1
        active = active[moved]  # a λ whose line search failed has stalled: it stops
    return grad, iterations, converged


def _lbfgs(
    problem: _Problem, eta: np.ndarray, lambdas: np.ndarray, tol: float, max_iter: int
) -> np.ndarray:
    """Stacked L-BFGS on the λ > 0: every λ its own history and line search, one GEMM per
    evaluation for all. Updates eta in place and returns the steps taken (K,); a λ stops at
    max|∇J| ≤ tol, or when its line search fails (Newton takes it over from there).

    Where the Hessians are costly (digits: 585 parameters per λ), L-BFGS reaches the tolerance
    in ~200 evaluations of J and ∇J at the smallest λ, where Newton-CG needs ~20 Newton steps of
    ~40 Hessian-vector products each, and each product costs as much as an evaluation.
    """
    K = len(lambdas)
    value, grad = _objective(problem, eta, lambdas, lean=True)
    steps = np.zeros(K, dtype=np.int64)
    memory = _LBFGS_MEMORY
    active = np.flatnonzero(lambdas > 0)
    # per λ of `active` (compacted as it shrinks): the last steps s and gradient changes y,
    # 1/sᵀy (0 for a pair left out: sᵀy ≤ 0, no curvature), the initial scale sᵀy/yᵀy
    S = np.zeros((len(active), memory, problem.p))
    Y = np.zeros_like(S)
    rho = np.zeros((len(active), memory))
    gamma = np.zeros(len(active))
    for it in range(max_iter):
        going = _max_abs(problem.full(grad[active])) > tol
        if not going.all():
            active, S, Y, rho, gamma = active[going], S[going], Y[going], rho[going], gamma[going]
        if active.size == 0:
            break
        g = grad[active].reshape(len(active), -1)
        direction = -g
        history = [t % memory for t in range(it - 1, max(it - memory, 0) - 1, -1)]
        alphas = []
        for i in history:  # newest first
            alpha = rho[:, i] * np.vecdot(S[:, i], direction)
            direction -= alpha[:, None] * Y[:, i]
            alphas.append(alpha)
        # no pair yet: a step of length ≤ 1 along −∇J
        first = np.minimum(1.0, 1.0 / np.sqrt(np.vecdot(g, g)))
        direction *= np.where(gamma == 0, first, gamma)[:, None]
        for i, alpha in zip(reversed(history), reversed(alphas), strict=True):
            beta = rho[:, i] * np.vecdot(Y[:, i], direction)
            direction += (alpha - beta)[:, None] * S[:, i]
        before = eta[active].reshape(len(active), -1)
        step = direction.reshape(grad[active].shape)  # (len(active), m, q)
        moved = _line_search(problem, eta, value, grad, lambdas, active, step, lean=True)
        slot = it % memory
        S[:, slot] = eta[active].reshape(len(active), -1) - before
        Y[:, slot] = grad[active].reshape(len(active), -1) - g
        sy, yy = np.vecdot(S[:, slot], Y[:, slot]), np.vecdot(Y[:, slot], Y[:, slot])
        keep = moved & (sy > np.finfo(float).eps * yy)
        rho[:, slot] = np.where(keep, 1.0 / np.where(keep, sy, 1.0), 0.0)
        gamma = np.where(keep, sy / np.where(keep, yy, 1.0), gamma)
        steps[active[moved]] += 1
        if not moved.all():
            active, S, Y, rho, gamma = active[moved], S[moved], Y[moved], rho[moved], gamma[moved]
    return steps


def _prefers_dense(problem: _Problem) -> bool:
    """Whether one dense Newton direction costs fewer flops than _CG_STEPS_GUESS CG iterations.

    Dense: the packed Hessian GEMM, 2·n·(m(m+1)/2)·(q(q+1)/2), plus the LU solve, ⅔·p³.
    CG: two GEMMs of n·q·C' per iteration, 4·n·q·C'.
    """
    n, q, m, outputs = problem.n, problem.q, problem.m, len(problem.Q)
    dense = 2 * n * (m * (m + 1) // 2) * (q * (q + 1) // 2) + 2 * problem.p**3 / 3
    return dense <= _CG_STEPS_GUESS * 4 * n * q * outputs


def _initial(problem: _Problem, K: int) -> np.ndarray:
    """W = 0 and the intercepts that fit the class frequencies (J's minimiser at λ = ∞)."""
    eta = np.zeros((K, problem.m, problem.q))
    counts = np.bincount(problem.y, minlength=problem.n_classes)
    log_freq = np.log(np.maximum(counts, 0.5) / problem.n)
    if problem.binary:
        eta[:, 0, -1] = log_freq[1] - log_freq[0]
    else:
        eta[:, :, -1] = problem.Q.T @ (log_freq - log_freq.mean())
    return eta


def _max_abs(a: np.ndarray) -> np.ndarray:
    return np.abs(a).max(axis=tuple(range(1, a.ndim)), initial=0.0)


def _small_decrement(grad: np.ndarray, steps: np.ndarray, value: np.ndarray, tol: float):
    """The Newton decrement −∇J·d at most tol × J: at a minimiser it falls quadratically; on
    separable classes at λ = 0, where J → 0 by a constant factor a step while θ runs off to
    infinity, it stays a fixed share of J. (The step test alone, relative to |θ|, passed there
    after about 1/√tol steps: λ = 0 `ok` and λ_min at max_iter 2000.) With J ≤ tol the
    caller stops trusting either: a mean cross-entropy below 1e-8 at λ = 0 needs separated
    classes (one row on the wrong side of the boundary costs log 2 / n), and there J and ∇J
    underflow to 0."""
    decrement = -np.einsum("kmq,kmq->k", grad, steps)
    return decrement <= tol * np.abs(value)


def _small_step(problem: _Problem, eta: np.ndarray, steps: np.ndarray, tol: float) -> np.ndarray:
    """The Newton step max|d| ≤ √tol·(1 + max|θ|), over the full (coef, intercept)."""
    size = 1.0 + _max_abs(problem.full(eta))
    return _max_abs(problem.full(steps)) <= np.sqrt(tol) * size


def _line_search(
    problem: _Problem,
    eta: np.ndarray,
    value: np.ndarray,
    grad: np.ndarray,
    lambdas: np.ndarray,
    active: np.ndarray,
    steps: np.ndarray,
    lean: bool = False,
) -> np.ndarray:
    """Backtracking from t = 1 for the λ in `active`; updates eta, value, grad in place.

    A trial is accepted on sufficient decrease (Armijo), or, when the change of J is lost in
    rounding, when the gradient shrinks. Returns which of `active` moved.
    """
    slope = np.einsum("kmq,kmq->k", grad[active], steps)
    uphill = ~(slope < 0)  # a non-descent (or non-finite) Newton step: fall back to −∇J
    steps[uphill] = -grad[active][uphill]
    slope[uphill] = -np.einsum("kmq,kmq->k", steps[uphill], steps[uphill])
    t = np.ones(len(active))
    accepted = np.zeros(len(active), dtype=bool)
    pending = np.arange(len(active))
    for _ in range(_MAX_HALVINGS):
        k = active[pending]
        trial = eta[k] + t[pending, None, None] * steps[pending]
        trial_value, trial_grad = _objective(problem, trial, lambdas[k], lean)
        armijo = trial_value <= value[k] + _ARMIJO * t[pending] * slope[pending]
        flat = (np.abs(trial_value - value[k]) <= _ROUNDOFF * np.abs(value[k])) & (
            _max_abs(trial_grad) < _max_abs(grad[k])
        )
        finite = np.isfinite(trial_value) & np.all(np.isfinite(trial), axis=(1, 2))
        ok = finite & (armijo | flat)
        eta[k[ok]], value[k[ok]], grad[k[ok]] = trial[ok], trial_value[ok], trial_grad[ok]
        accepted[pending[ok]] = True
        pending = pending[~ok]
        if pending.size == 0:
            break
        t[pending] *= 0.5
    return accepted


# --------------------------------------------------------------------------- evaluation


def cross_entropy(
    X: np.ndarray, y: np.ndarray, path: LogisticPath
) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy (natural log) and accuracy (K,) of each λ's model on (X, y).

    The data loss alone, without the penalty; rows are taken in chunks of bounded memory.
    """
    theta = np.concatenate([path.coef, path.intercept[..., None]], axis=-1)  # (K, C', q)
    K, c, _ = theta.shape
    binary = c == 1
    total, correct = np.zeros(K), np.zeros(K)
    y = np.asarray(y, dtype=np.int64)
    rows = _rows(K * c)
    with np.errstate(over="ignore", under="ignore"):
        for start in range(0, len(y), rows):
            yc = y[start : start + rows]
            L = _logits(_with_ones(X[start : start + rows]), theta)  # (C', K, rows)
            loss, _ = _link(binary, L, yc)
            total += loss.sum(axis=1)
            predicted = (L[0] > 0).astype(np.int64) if binary else L.argmax(axis=0)
            correct += (predicted == yc).sum(axis=1)
    n = max(len(y), 1)
    return total / n, correct / n
