"""The parameter update of one flat vector θ (every layer of a stack of models), as a chain:

    penalty:  g ← g + 2λ·θ                      (regularization: l2; weights only)
    rule:     u = rule(g)                        (sgd | momentum | adam, below)
    decay:    θ ← (1 − r)·θ,  r = lr·η_t·2λ      (regularization: decoupled, like optax's
                                                  add_decayed_weights; weights only)
    step:     θ ← θ + u                          (frozen models take no step)

The rules are scikit-learn's (`_stochastic_optimizers.py`), so that the stacked MLP can be
checked against `MLPRegressor` / `MLPClassifier`:

    sgd:       u = −η·g
    momentum:  v ← μ·v − η·g;  u = v          (nesterov: u = μ·v − η·g, with the new v)
    adam:      m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
               η_t = η·√(1 − β2^t) / (1 − β1^t);  u = −η_t·m / (√v + ε)

Adam is Kingma & Ba's "efficient" form (bias correction folded into η_t, ε added to √v
uncorrected), as scikit-learn has it, with its moments stored scaled by constants (see
`Adam`). Every coefficient that differs between models (2λ, the decay factor, a per-model
learning rate, frozen) is one entry per *owner* (a model's weights, a model's biases): the
vector is a list of segments, each a run of entries of one owner (`Segments`). With numba
(wdcli.fused) the whole chain is one pass over memory per step; without it, a few
whole-vector numpy calls with the same floating point operations, so the same bits. Scalars
stay Python floats in numpy, so a float32 vector stays float32.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from wdcli import fused

if TYPE_CHECKING:
    from wdcli.fused import Kernels

Coefficient = Any  # a Python float, or one value per owner (an array in θ's dtype)


class Options(Protocol):
    """The settings read here: an MLPModel config (wdcli.config imports this module, so it
    is described by the fields used rather than imported)."""

    @property
    def optimizer(self) -> str: ...
    @property
    def momentum(self) -> float: ...
    @property
    def nesterov(self) -> bool: ...
    @property
    def beta1(self) -> float: ...
    @property
    def beta2(self) -> float: ...
    @property
    def eps(self) -> float: ...
    @property
    def epochs(self) -> int: ...
    @property
    def regularization(self) -> str: ...
    @property
    def decay_convention(self) -> str: ...
    @property
    def schedule(self) -> str: ...
    @property
    def warmup_epochs(self) -> int: ...
    @property
    def step_epochs(self) -> int: ...
    @property
    def step_gamma(self) -> float: ...


@dataclass(frozen=True)
class Segments:
    """The flat vector as runs of entries of one owner: run s is start[s]:start[s + 1] and
    belongs to owner[s] (model k's weights are owner k, its biases owner K + k)."""

    start: np.ndarray  # (S + 1,) int64
    owner: np.ndarray  # (S,) int64
    owners: int  # 2K

    def expand(self, table: np.ndarray) -> np.ndarray:
        """A per-owner table as a per-entry vector."""
        return np.repeat(table[self.owner], np.diff(self.start))


class Rule(Protocol):
    """An update rule: u = rule(g) on the numpy path, or one fused pass with kernels."""

    def coefficient(self, lr: Coefficient, t: int) -> Coefficient: ...

    def step(self, g: np.ndarray, coef: Coefficient) -> np.ndarray: ...

    def state(self) -> tuple[np.ndarray, ...]: ...

    def moments(self) -> tuple[np.ndarray, ...]: ...

    def fused(self, kernels: Kernels, theta: np.ndarray, g: np.ndarray, common: tuple) -> None: ...


class SGD:
    """Plain stochastic gradient descent: u = coef·g with coef = −η."""

    def __init__(self, size: int, dtype: np.dtype, options: Options | None = None):
        self.u = np.zeros(size, dtype)

    def coefficient(self, lr: Coefficient, t: int) -> Coefficient:
        return -lr

    def step(self, g: np.ndarray, coef: Coefficient) -> np.ndarray:
        np.multiply(g, coef, out=self.u)
        return self.u

    def state(self) -> tuple[np.ndarray, ...]:
        """The accumulators carried from step to step (none), to check them for overflow."""
        return ()

    def moments(self) -> tuple[np.ndarray, ...]:
        """Every accumulator (to flush subnormal numbers from)."""
        return ()

    def fused(self, kernels: Kernels, theta: np.ndarray, g: np.ndarray, common: tuple) -> None:
        kernels["sgd"](theta, g, *common)


class Momentum:
    """Heavy-ball momentum, or Nesterov's (scikit-learn's `nesterovs_momentum`); coef = η."""

    def __init__(self, size: int, dtype: np.dtype, options: Options):
        self.mu, self.nesterov = options.momentum, options.nesterov
        self.v = np.zeros(size, dtype)
        self.u = np.zeros(size, dtype)
        self.lr_g = np.zeros(size, dtype)

    def coefficient(self, lr: Coefficient, t: int) -> Coefficient:
        return lr

    def step(self, g: np.ndarray, coef: Coefficient) -> np.ndarray:
        np.multiply(g, coef, out=self.lr_g)
        self.v *= self.mu
        self.v -= self.lr_g
        if not self.nesterov:
            return self.v
        np.multiply(self.v, self.mu, out=self.u)
        self.u -= self.lr_g
        return self.u

    def state(self) -> tuple[np.ndarray, ...]:
        return (self.v,)

    def moments(self) -> tuple[np.ndarray, ...]:
        return (self.v,)

    def fused(self, kernels: Kernels, theta: np.ndarray, g: np.ndarray, common: tuple) -> None:
        dtype = theta.dtype.type
        *head, tiny, zero = common
        kernels["momentum"](theta, g, self.v, *head, dtype(self.mu), self.nesterov, tiny, zero)


class Adam:
    """Adam in the efficient form of Kingma & Ba (section 2), as scikit-learn implements it.

    Kept are M = m/(1 − β1) and V = v/(1 − β2), which update as M ← β1·M + g and
    V ← β2·V + g²; then u = −η_t·m/(√v + ε) = −η_t·(1 − β1)/√(1 − β2) · M/(√V + ε/√(1 − β2)),
    two passes over the parameters fewer than the textbook order (rounding differs only).
    """

    def __init__(self, size: int, dtype: np.dtype, options: Options):
        self.beta1, self.beta2, self.eps = options.beta1, options.beta2, options.eps
        self.m = np.zeros(size, dtype)
        self.v = np.zeros(size, dtype)
        self.u = np.zeros(size, dtype)
        self.tmp = np.zeros(size, dtype)

    def coefficient(self, lr: Coefficient, t: int) -> Coefficient:
        """−η_t·(1 − β1)/√(1 − β2) at step t (from 1), per model when lr is."""
        b1, b2 = self.beta1, self.beta2
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        return -lr_t * (1 - b1) / math.sqrt(1 - b2)

    def step(self, g: np.ndarray, coef: Coefficient) -> np.ndarray:
        tmp = self.tmp
        self.m *= self.beta1
        self.m += g
        np.multiply(g, g, out=tmp)
        self.v *= self.beta2
        self.v += tmp
        np.sqrt(self.v, out=tmp)
        tmp += self.eps / math.sqrt(1 - self.beta2)
        np.divide(self.m, tmp, out=self.u)
        self.u *= coef
        return self.u

    def state(self) -> tuple[np.ndarray, ...]:
        """V = Σ β2ᵗ·g² overflows long before the parameters do when λ·w is huge: then every
        step is 0 and the run would sit at its initial weights."""
        return (self.v,)

    def moments(self) -> tuple[np.ndarray, ...]:
        return (self.m, self.v)

    def fused(self, kernels: Kernels, theta: np.ndarray, g: np.ndarray, common: tuple) -> None:
        dtype = theta.dtype.type
        *head, tiny, zero = common
        eps = dtype(self.eps / math.sqrt(1 - self.beta2))
        kernels["adam"](theta, g, self.m, self.v, *head, dtype(self.beta1), dtype(self.beta2),
                        eps, tiny, zero)  # fmt: skip


OPTIMIZERS: dict[str, Callable[[int, np.dtype, Options], Rule]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "adam": Adam,
}
"""name -> rule(size, dtype, options); `options` is an MLPModel config (momentum, nesterov,
beta1, beta2, eps)."""


def penalty_rates(lambdas: np.ndarray) -> np.ndarray:
    """2λ per owner: the L2 gradient's (and decoupled decay's) rate, 0 on biases."""
    lambdas = np.asarray(lambdas, dtype=np.float64)
    return np.concatenate([2 * lambdas, np.zeros_like(lambdas)])


class Update:
    """The chain of the module docstring on one flat vector θ of K stacked models.

    `lr` is a number or one per model; `two_lambda` is `penalty_rates(λ)`; `regularization`
    is "l2" (the penalty's gradient) or "decoupled" (decay beside the rule's step), and
    `decay_convention` "torch" (r = lr·η_t·2λ) or "paper" (r = η_t·2λ).
    """

    def __init__(self, segments: Segments, theta: np.ndarray, options: Options,
                 lr: float | np.ndarray, two_lambda: np.ndarray,
                 kernels: Kernels | None = None):  # fmt: skip
        self.segments, self.theta, self.dtype = segments, theta, theta.dtype
        self.kernels = kernels
        self.rule = OPTIMIZERS[options.optimizer](theta.size, theta.dtype, options)
        self.lr, self.per_model = lr, np.ndim(lr) > 0
        self.two_lambda = np.asarray(two_lambda, dtype=np.float64)
        self.l2 = options.regularization == "l2"
        self.paper = options.decay_convention == "paper"
        self.frozen = np.zeros(segments.owners, bool)
        self.frozen_entries: np.ndarray | None = (
            None  # numpy path: the per-entry mask, once a model is frozen
        )
        self.t = 0
        self.eta = 1.0
        self._tables: dict[str, tuple[tuple[str, bytes], np.ndarray, np.ndarray | None]] = {}
        self._lr_cache: tuple[float, np.ndarray] | None = None
        self._decay_cache: tuple[tuple[float, bytes], np.ndarray] | None = None
        self._coef = np.zeros(segments.owners, theta.dtype)  # the fused path's one-value table
        self._lam2 = self._table("lam2", self.two_lambda)  # 2λ per owner, fixed
        self.scratch = np.zeros_like(theta) if self.l2 and kernels is None else None
        self.tiny, self.zero = theta.dtype.type(np.finfo(theta.dtype).tiny), theta.dtype.type(0)

    # -- per-owner coefficients (and, for numpy, their per-entry vectors), recomputed only
    #    when what they depend on changes: most steps reuse every table

    def _table(self, name: str, values: np.ndarray) -> np.ndarray:
        """`values` (per owner) in θ's dtype; the per-entry vector too on the numpy path."""
        key = (name, values.tobytes())
        cached = self._tables.get(name)
        if cached is None or cached[0] != key:
            table = values.astype(self.dtype)
            cached = (key, table, None if self.kernels else self.segments.expand(table))
            self._tables[name] = cached
        per_entry = cached[1] if self.kernels is not None else cached[2]
        assert per_entry is not None  # the numpy path stored the per-entry vector above
        return per_entry

    def _lr_owners(self) -> np.ndarray:
        """The learning rate η·η_t per owner (float64), cached while η_t stays the same."""
        if self._lr_cache is None or self._lr_cache[0] != self.eta:
            lr = np.asarray(self.lr, dtype=np.float64) * self.eta if self.eta != 1.0 else self.lr
            lr = np.broadcast_to(np.asarray(lr, dtype=np.float64), (self.segments.owners // 2,))
            self._lr_cache = (self.eta, np.concatenate([lr, lr]))
        return self._lr_cache[1]

    def _decay(self) -> np.ndarray:
        """1 − r per owner (1 on biases and frozen models), cached while η_t and the frozen
        models stay the same."""
        key = (self.eta, self.frozen.tobytes())
        if self._decay_cache is None or self._decay_cache[0] != key:
            if self.paper:
                rate = self.two_lambda if self.eta == 1.0 else self.eta * self.two_lambda
            else:
                rate = self._lr_owners() * self.two_lambda
            decay = 1 - rate
            decay[self.frozen] = 1
            self._decay_cache = (key, self._table("decay", decay))
        return self._decay_cache[1]

    def _coefficient(self) -> Coefficient:
        if not self.per_model:  # one value for every owner: a Python float, computed once
            lr = self.lr * self.eta if self.eta != 1.0 else self.lr
            coef = self.rule.coefficient(lr, self.t)
            if self.kernels is None:  # numpy keeps θ's dtype with a Python float
                return coef
            self._coef.fill(coef)  # rounded to θ's dtype as astype would
            return self._coef
        lr = self._lr_owners()[: self.segments.owners // 2]
        coef = np.asarray(self.rule.coefficient(lr, self.t), dtype=np.float64)
        return self._table("coef", np.concatenate([coef, coef]))

    # -- the chain

    def set_eta(self, eta: float) -> None:
        """The schedule's multiplier of the learning rate (and of decoupled decay) from now."""
        self.eta = eta

    def freeze(self, models: np.ndarray) -> None:
        """Models that take no more steps (their parameters stay as they are)."""
        self.frozen[: len(models)] |= models
        self.frozen[len(models) :] |= models
        if self.kernels is None:
            self.frozen_entries = self.segments.expand(self.frozen)

    def apply(self, g: np.ndarray) -> None:
        """θ ← θ + u after one gradient g (which the numpy path overwrites)."""
        self.t += 1
        coef = self._coefficient()
        if self.kernels is not None:
            self._apply_fused(self.kernels, g, coef)
            return
        theta = self.theta
        if self.l2:
            np.multiply(theta, self._lam2, out=self.scratch)
            g += self.scratch
        u = self.rule.step(g, coef)
        if self.frozen_entries is not None:
            np.copyto(u, 0, where=self.frozen_entries)
        if not self.l2:
            theta *= self._decay()
        theta += u
        if self.t % fused.FLUSH_EVERY == 0:
            self.flush()

    def _apply_fused(self, kernels: Kernels, g: np.ndarray, coef: Coefficient) -> None:
        lam2 = self._lam2
        decay = lam2 if self.l2 else self._decay()
        seg = self.segments
        common = (seg.start, seg.owner, lam2, decay, coef, self.frozen, self.l2, not self.l2,
                  self.tiny, self.zero)  # fmt: skip
        self.rule.fused(kernels, self.theta, g, common)

    def flush(self) -> None:
        """Subnormal numbers in θ and the rule's state to zero (the numpy path's flush)."""
        for values in (self.theta, *self.rule.moments()):
            fused.flush_subnormals(values)

    def state(self) -> tuple[np.ndarray, ...]:
        return self.rule.state()


def lr_multiplier(options: Options, step: int, steps_per_epoch: int) -> float:
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


def epoch_rates(options: Options, steps_per_epoch: int) -> np.ndarray:
    """Each epoch's sum of `lr_multiplier` over its steps (epochs,): where the schedule puts
    the learning rate, for health.late_epoch."""
    steps = range(options.epochs * steps_per_epoch)
    rates = np.fromiter((lr_multiplier(options, t, steps_per_epoch) for t in steps), np.float64)
    return rates.reshape(options.epochs, steps_per_epoch).sum(axis=1)
