"""Optimisers on one flat parameter vector (every layer of every stacked model at once).

An optimiser turns a gradient g into the step u that the trainer adds to the parameters,
θ ← θ + u, writing into buffers it owns: a few whole-vector numpy calls per step, whatever the
number of layers or models. The rules are scikit-learn's (`_stochastic_optimizers.py`), so
that the stacked MLP can be checked against `MLPRegressor` / `MLPClassifier`:

    sgd:       u = −η·g
    momentum:  v ← μ·v − η·g;  u = v          (nesterov: u = μ·v − η·g, with the new v)
    adam:      m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
               η_t = η·√(1 − β2^t) / (1 − β1^t);  u = −η_t·m / (√v + ε)

The learning rate η is a number, or a vector with one entry per stacked model (several
learning rates trained as one stack): `expand` then turns a per-model coefficient into a
whole-vector one, with the same floating point operations per element as the scalar case, so
a model's numbers do not depend on the others in its stack.

Adam is Kingma & Ba's "efficient" form (bias correction folded into η_t, ε added to √v
uncorrected), as scikit-learn has it. sgd and momentum run scikit-learn's floating point
operations in its order; Adam stores its moments scaled by constants (see `Adam`), which
saves two passes over the parameters per step and changes results only by rounding. Scalars
stay Python floats, so a float32 vector stays float32.
"""

from __future__ import annotations

import math

import numpy as np


def _same(value):
    return value


class SGD:
    """Plain stochastic gradient descent."""

    def __init__(self, size: int, dtype, lr, expand=_same):
        self.lr, self.expand = lr, expand
        self.u = np.zeros(size, dtype)

    def step(self, g: np.ndarray) -> np.ndarray:
        np.multiply(g, self.expand(-self.lr), out=self.u)
        return self.u

    def state(self) -> tuple[np.ndarray, ...]:
        """The accumulators carried from step to step (none), to check them for overflow."""
        return ()


class Momentum:
    """Heavy-ball momentum, or Nesterov's (scikit-learn's `nesterovs_momentum`)."""

    def __init__(self, size: int, dtype, lr, momentum: float, nesterov: bool, expand=_same):
        self.lr, self.mu, self.nesterov, self.expand = lr, momentum, nesterov, expand
        self.v = np.zeros(size, dtype)
        self.u = np.zeros(size, dtype)
        self.lr_g = np.zeros(size, dtype)

    def step(self, g: np.ndarray) -> np.ndarray:
        np.multiply(g, self.expand(self.lr), out=self.lr_g)
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

    def __init__(self, size: int, dtype, lr, beta1: float, beta2: float, eps: float,
                 expand=_same):  # fmt: skip
        self.lr, self.beta1, self.beta2, self.eps, self.expand = lr, beta1, beta2, eps, expand
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
        self.u *= self.expand(-lr_t * (1 - b1) / root)
        return self.u

    def state(self) -> tuple[np.ndarray, ...]:
        """V = Σ β2ᵗ·g² overflows long before the parameters do when λ·w is huge: then every
        step is 0 and the run would sit at its initial weights."""
        return (self.v,)


OPTIMIZERS = {
    "sgd": lambda size, dtype, o, lr, expand: SGD(size, dtype, lr, expand),
    "momentum": lambda size, dtype, o, lr, expand: Momentum(
        size, dtype, lr, o.momentum, o.nesterov, expand
    ),
    "adam": lambda size, dtype, o, lr, expand: Adam(
        size, dtype, lr, o.beta1, o.beta2, o.eps, expand
    ),
}
"""name -> factory(size, dtype, options, lr, expand) of an optimiser for a flat vector of `size`
parameters; `options` is an MLPModel config (momentum, nesterov, beta1, beta2, eps), `lr` a
number or a per-model vector, `expand` maps per-model coefficients to the flat vector."""


def lr_multiplier(options, step: int, steps_per_epoch: int) -> float:
    """η_t, the schedule's multiplier of the learning rate at mini-batch `step` (from 0):

    constant: 1
    cosine:   (t + 1)/W during a warm-up of W steps, then ½·(1 + cos(π·(t − W)/(T − W)))
    step:     step_gamma ** ⌊epoch / step_epochs⌋
    """
    if options.schedule == "step":
        return options.step_gamma ** (step // steps_per_epoch // options.step_epochs)
    if options.schedule == "cosine":
        warm = options.warmup_epochs * steps_per_epoch
        total = options.epochs * steps_per_epoch
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
    return 1.0
