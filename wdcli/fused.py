"""Fused element-wise kernels of the MLP's step: compiled with numba when it is installed
(`pip install 'wdcli[fast]'`), plain numpy otherwise.

Both paths run the same floating point operations in the same order on every element, so
they give the same bits (the tests run both): numba only saves the passes over memory that
numpy makes, one per operation. The compiled update rules also flush to zero what would be a
subnormal number in the optimiser's state and the parameters (see `TINY` below), which numpy
cannot do inside a pass; the numpy path flushes every `FLUSH_EVERY` steps instead.

A kernel of the update rules walks the flat parameter vector as *segments*: runs of entries
that share one owner (a model's weights or a model's biases), with one row of coefficients
per owner (2λ, the decay factor, the learning-rate factor, frozen).

Importing numba and loading its compiled code costs a second or more per process, so the
kernels are used (`kernels_for`) only for work large enough to win that back, or once they are
loaded anyway; the choice changes no number. `WDCLI_KERNELS=numpy` or `=numba` forces a path.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from types import ModuleType

import numpy as np

Kernels = dict[str, Callable[..., None]]
"""name -> compiled kernel (the names `_build_numba` returns)."""

FLUSH_EVERY = 16  # numpy path: steps between two flushes of subnormal numbers
MIN_WORK = 3e8  # element-steps (see kernels_for) from which loading numba pays for itself
MODES = ("auto", "numpy", "numba")
MODE = os.environ.get("WDCLI_KERNELS", "auto")  # one of MODES (`check_mode`)
_compiled: Kernels | None = None
_work_seen = 0.0  # element-steps trained in this process so far


def subnormal_count(values: np.ndarray) -> int:
    """How many entries are subnormal (nonzero and below the dtype's smallest normal)."""
    values = np.abs(values)
    return int(np.count_nonzero((values > 0) & (values < np.finfo(values.dtype).tiny)))


def flush_subnormals(values: np.ndarray) -> None:
    """Set the subnormal entries of `values` to zero, in place."""
    tiny = np.finfo(values.dtype).tiny
    np.copyto(values, 0, where=np.abs(values) < tiny)


def _build_numba(numba: ModuleType, cache: bool = True) -> Kernels:
    """The compiled kernels; each loop body is the numpy path's operations, element-wise."""
    jit = numba.njit(cache=cache, nogil=True, fastmath=False, error_model="numpy")

    # The relu kernels multiply by the mask [z > 0] as a 0/1 number, as numpy does: written
    # as a multiply (not a branch or a select of z and z·0) the loops vectorise, 1.5–3× faster.

    @jit
    def relu_forward(Z, zero, one):
        flat = Z.reshape(-1)
        for i in range(flat.size):
            z = flat[i]
            flat[i] = z * (one if z > zero else zero)  # z·[z > 0], as numpy's z·mask

    @jit
    def relu_backward(D, A, zero, one):
        # D ⊙ f'(z): f'(z) = [z > 0] = [relu(z) > 0]
        d, a = D.reshape(-1), A.reshape(-1)
        for i in range(d.size):
            d[i] = d[i] * (one if a[i] > zero else zero)

    @jit
    def relu_backward_outer(D, A, delta, zero, one):
        # D[k, j, r] = f'(z)[k, j, r]·δ[k, 0, r]: one output's w·δ broadcast, masked
        K, h, R = D.shape
        for k in range(K):
            dk = delta[k, 0]
            for j in range(h):
                a, d = A[k, j], D[k, j]
                for r in range(R):
                    d[r] = dk[r] * (one if a[r] > zero else zero)

    @jit
    def sgd(theta, g, start, owner, lam2, decay, coef, frozen, l2, decoupled, tiny, zero):
        for s in range(owner.size):
            o = owner[s]
            if frozen[o]:
                continue
            lam, dec, c = lam2[o], decay[o], coef[o]
            th, gs = theta[start[s] : start[s + 1]], g[start[s] : start[s + 1]]
            for i in range(th.size):  # slices: nonnegative indices, so the loop vectorises
                gi = gs[i]
                if l2:
                    gi = gi + th[i] * lam
                t = th[i]
                if decoupled:
                    t = t * dec
                t = t + gi * c
                th[i] = zero if abs(t) < tiny else t

    @jit
    def momentum(theta, g, v, start, owner, lam2, decay, coef, frozen, l2, decoupled, mu,
                 nesterov, tiny, zero):  # fmt: skip
        for s in range(owner.size):
            o = owner[s]
            if frozen[o]:
                continue
            lam, dec, c = lam2[o], decay[o], coef[o]
            a, b = start[s], start[s + 1]
            th, gs, vs = theta[a:b], g[a:b], v[a:b]
            for i in range(th.size):
                gi = gs[i]
                if l2:
                    gi = gi + th[i] * lam
                lr_g = gi * c
                vi = vs[i] * mu - lr_g
                vi = zero if abs(vi) < tiny else vi
                vs[i] = vi
                u = vi * mu - lr_g if nesterov else vi
                t = th[i]
                if decoupled:
                    t = t * dec
                t = t + u
                th[i] = zero if abs(t) < tiny else t

    @jit
    def adam(theta, g, m, v, start, owner, lam2, decay, coef, frozen, l2, decoupled, b1, b2,
             eps, tiny, zero):  # fmt: skip
        for s in range(owner.size):
            o = owner[s]
            if frozen[o]:
                continue
            lam, dec, c = lam2[o], decay[o], coef[o]
            a, b = start[s], start[s + 1]
            th, gs, ms, vs = theta[a:b], g[a:b], m[a:b], v[a:b]
            for i in range(th.size):
                gi = gs[i]
                if l2:
                    gi = gi + th[i] * lam
                mi = ms[i] * b1 + gi
                vi = vs[i] * b2 + gi * gi
                mi = zero if abs(mi) < tiny else mi
                vi = zero if vi < tiny else vi
                ms[i] = mi
                vs[i] = vi
                u = mi / (np.sqrt(vi) + eps) * c
                t = th[i]
                if decoupled:
                    t = t * dec
                t = t + u
                th[i] = zero if abs(t) < tiny else t

    return {"relu_forward": relu_forward, "relu_backward": relu_backward,
            "relu_backward_outer": relu_backward_outer, "sgd": sgd, "momentum": momentum,
            "adam": adam}  # fmt: skip


def check_mode() -> None:
    """Refuse a WDCLI_KERNELS that names no path, or numba where it is not installed: both
    used to run the numpy path without a word."""
    from wdcli.errors import ConfigError

    if MODE not in MODES:
        raise ConfigError(f"WDCLI_KERNELS: '{MODE}' is not one of {', '.join(MODES)}")
    if MODE == "numba" and not available():
        raise ConfigError(
            "WDCLI_KERNELS=numba: numba is not installed; pip install 'wdcli[fast]', or unset "
            "WDCLI_KERNELS"
        )


def available() -> bool:
    """True when numba is installed (whether or not it is used)."""
    return importlib.util.find_spec("numba") is not None


def compiled() -> Kernels:
    """The compiled kernels by name (numba imported and the kernels built on first use)."""
    global _compiled
    if _compiled is None:
        import numba

        try:
            _compiled = _build_numba(numba)
        except RuntimeError as exc:  # nowhere to write the cache (a read-only install and
            if "cannot cache" not in str(exc):  # no writable home): compile in each process
                raise
            _compiled = _build_numba(numba, cache=False)
    return _compiled


def kernels_for(work: float) -> Kernels | None:
    """The compiled kernels for a training run of `work` element-steps (parameters plus
    hidden activations, times steps), or None for the numpy path: numba is used when it is
    installed and this run, with the runs before it in this process, is large enough to pay
    for loading it (or it is loaded already)."""
    global _work_seen
    if MODE == "numpy" or not available():
        return None
    _work_seen += work
    if MODE == "numba" or _compiled is not None or _work_seen >= MIN_WORK:
        return compiled()
    return None
