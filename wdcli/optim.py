"""Optimisers on one flat parameter vector (every layer of every stacked model at once).

An optimiser turns a gradient g into the step u that the trainer adds to the parameters,
θ ← θ + u, writing into buffers it owns: a few whole-vector numpy calls per step, whatever the
number of layers or models. The rules are scikit-learn's (`_stochastic_optimizers.py`), so
that the stacked MLP can be checked against `MLPRegressor` / `MLPClassifier`:

    sgd:       u = −η·g
    momentum:  v ← μ·v − η·g;  u = v          (nesterov: u = μ·v − η·g, with the new v)
    adam:      m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
               η_t = η·√(1 − β2^t) / (1 − β1^t);  u = −η_t·m / (√v + ε)

Adam is Kingma & Ba's "efficient" form (bias correction folded into η_t, ε added to √v
uncorrected), as scikit-learn has it. sgd and momentum run scikit-learn's floating point
operations in its order; Adam stores its moments scaled by constants (see `Adam`), which
saves two passes over the parameters per step and changes results only by rounding. Scalars
stay Python floats, so a float32 vector stays float32.
"""

from __future__ import annotations

import math

import numpy as np


class SGD:
    """Plain stochastic gradient descent."""

    def __init__(self, size: int, dtype, lr: float):
        self.lr = lr
        self.u = np.zeros(size, dtype)

    def step(self, g: np.ndarray) -> np.ndarray:
        np.multiply(g, -self.lr, out=self.u)
        return self.u

    def state(self) -> tuple[np.ndarray, ...]:
        """The accumulators carried from step to step (none), to check them for overflow."""
        return ()


class Momentum:
    """Heavy-ball momentum, or Nesterov's (scikit-learn's `nesterovs_momentum`)."""

    def __init__(self, size: int, dtype, lr: float, momentum: float, nesterov: bool):
        self.lr, self.mu, self.nesterov = lr, momentum, nesterov
        self.v = np.zeros(size, dtype)
        self.u = np.zeros(size, dtype)
        self.lr_g = np.zeros(size, dtype)

    def step(self, g: np.ndarray) -> np.ndarray:
        np.multiply(g, self.lr, out=self.lr_g)
        self.v *= self.mu
        self.v -= self.lr_g
        if not self.nesterov:
            return self.v
        np.multiply(self.v, self.mu, out=self.u)
        self.u -= self.lr_g
        return self.u

    def state(self) -> tuple[np.ndarray, ...]:
        return (self.v,)


class Adam:
    """Adam in the efficient form of Kingma & Ba (section 2), as scikit-learn implements it.

    Kept are M = m/(1 − β1) and V = v/(1 − β2), which update as M ← β1·M + g and
    V ← β2·V + g²; then u = −η_t·m/(√v + ε) = −η_t·(1 − β1)/√(1 − β2) · M/(√V + ε/√(1 − β2)).
    """

    def __init__(self, size: int, dtype, lr: float, beta1: float, beta2: float, eps: float):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self.m = np.zeros(size, dtype)
        self.v = np.zeros(size, dtype)
        self.u = np.zeros(size, dtype)
        self.tmp = np.zeros(size, dtype)

    def step(self, g: np.ndarray) -> np.ndarray:
        b1, b2, tmp = self.beta1, self.beta2, self.tmp
        self.t += 1
        self.m *= b1
        self.m += g
        np.multiply(g, g, out=tmp)
        self.v *= b2
        self.v += tmp
        lr_t = self.lr * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        root = math.sqrt(1 - b2)
        np.sqrt(self.v, out=tmp)
        tmp += self.eps / root
        np.divide(self.m, tmp, out=self.u)
        self.u *= -lr_t * (1 - b1) / root
        return self.u

    def state(self) -> tuple[np.ndarray, ...]:
        """V = Σ β2ᵗ·g² overflows long before the parameters do when λ·w is huge: then every
        step is 0 and the run would sit at its initial weights."""
        return (self.v,)


OPTIMIZERS = {
    "sgd": lambda size, dtype, o: SGD(size, dtype, o.lr),
    "momentum": lambda size, dtype, o: Momentum(size, dtype, o.lr, o.momentum, o.nesterov),
    "adam": lambda size, dtype, o: Adam(size, dtype, o.lr, o.beta1, o.beta2, o.eps),
}
"""name -> factory(size, dtype, options) of an optimiser for a flat vector of `size` parameters;
`options` is an MLPModel config (lr, momentum, nesterov, beta1, beta2, eps)."""
