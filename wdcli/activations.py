"""Hidden-layer activations for the numpy MLP, each with its derivative beside it.

An activation is a function `f(Z, dZ=None)` that overwrites the pre-activation Z with f(Z)
and, when a buffer dZ of Z's shape is given, writes f'(Z) into it (the backward pass then
multiplies by dZ). Everything runs in place on preallocated buffers and keeps Z's dtype.

tanh, sigmoid, silu and gelu go through one `np.exp` (1 / (1 + e^-z) forms): in float64 that
is several times faster than `np.tanh`. e^z may overflow to inf for |z| > 700; the forms
below then still give the right limit, so callers run them under `np.errstate(over="ignore")`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from wdcli.fused import Kernels

LEAKY_SLOPE = 0.01
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


class Activation(Protocol):
    """f(Z, dZ=None): Z ← f(Z) in place, and dZ ← f'(Z) when a buffer is given."""

    def __call__(self, Z: np.ndarray, dZ: np.ndarray | None = None) -> None: ...


Backward = Callable[[np.ndarray, np.ndarray, np.ndarray], None]
"""backward(D, A, dZ): D ← D ⊙ f'(z)."""
BackwardOuter = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]
"""backward_outer(D, A, dZ, δ): D ← f'(z) ⊙ δ broadcast over the units."""


def identity(Z: np.ndarray, dZ: np.ndarray | None = None) -> None:
    if dZ is not None:
        dZ.fill(1)


def relu(Z: np.ndarray, dZ: np.ndarray | None = None) -> None:
    # relu(z) = z·[z > 0], so the derivative is the mask and the value is z times it.
    if dZ is None:
        np.maximum(Z, 0, out=Z)
        return
    np.greater(Z, 0, out=dZ)
    Z *= dZ


def leaky_relu(Z: np.ndarray, dZ: np.ndarray | None = None) -> None:
    # f(z) = z·f'(z) with f'(z) = 1 for z > 0, else LEAKY_SLOPE.
    D = np.empty_like(Z) if dZ is None else dZ
    np.greater(Z, 0, out=D)
    D *= 1 - LEAKY_SLOPE
    D += LEAKY_SLOPE
    Z *= D


def elu(Z: np.ndarray, dZ: np.ndarray | None = None) -> None:
    # f(z) = z for z > 0, e^z − 1 otherwise; f'(z) = e^min(z, 0), and f = max(z, f' − 1).
    D = np.empty_like(Z) if dZ is None else dZ
    np.minimum(Z, 0, out=D)
    np.exp(D, out=D)
    np.maximum(Z, D - 1, out=Z)


def sigmoid_into(Z: np.ndarray, S: np.ndarray, sign: float = 1) -> None:
    """S = 1 / (1 + e^(−sign·z)), elementwise; S may be Z itself."""
    np.multiply(Z, -sign, out=S)
    np.exp(S, out=S)
    S += 1
    np.reciprocal(S, out=S)


def sigmoid(Z: np.ndarray, dZ: np.ndarray | None = None) -> None:
    # σ(z) = 1 / (1 + e^−z); σ' = σ(1 − σ).
    sigmoid_into(Z, Z)
    if dZ is not None:
        np.subtract(1, Z, out=dZ)
        dZ *= Z


def tanh(Z: np.ndarray, dZ: np.ndarray | None = None) -> None:
    # tanh z = 1 − 2 / (1 + e^2z); tanh' = 1 − tanh².
    Z *= 2
    np.exp(Z, out=Z)
    Z += 1
    np.divide(-2, Z, out=Z)
    Z += 1
    if dZ is not None:
        np.multiply(Z, Z, out=dZ)
        np.subtract(1, dZ, out=dZ)


def silu(Z: np.ndarray, dZ: np.ndarray | None = None) -> None:
    # silu(z) = z·σ(z); silu' = σ + z·σ(1 − σ) = σ + f·(1 − σ).
    S = np.empty_like(Z)
    sigmoid_into(Z, S)
    Z *= S
    if dZ is not None:
        np.subtract(1, S, out=dZ)
        dZ *= Z
        dZ += S


def gelu(Z: np.ndarray, dZ: np.ndarray | None = None) -> None:
    # The tanh approximation: gelu(z) = z·σ(2u), u = c·(z + a·z³), c = √(2/π);
    # gelu' = σ + f·(1 − σ)·2c·(1 + 3a·z²) with σ = σ(2u), f = gelu(z).
    Z2 = np.multiply(Z, Z)
    U = Z2 * _GELU_A
    U += 1
    U *= Z
    S = np.empty_like(Z)
    sigmoid_into(U, S, sign=2 * _GELU_C)
    Z *= S
    if dZ is not None:
        Z2 *= 3 * _GELU_A * 2 * _GELU_C
        Z2 += 2 * _GELU_C
        np.subtract(1, S, out=dZ)
        dZ *= Z
        dZ *= Z2
        dZ += S


ACTIVATIONS: dict[str, Activation] = {
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "gelu": gelu,
    "silu": silu,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "identity": identity,
}


class Passes:
    """An activation as the passes use it: `forward(Z, dZ)` (as in ACTIVATIONS), then in the
    backward pass `backward(D, A, dZ)`: D ← D ⊙ f'(z), and `backward_outer(D, A, dZ, δ)`:
    D ← f'(z) ⊙ δ broadcast over the units (one output: w·δ is an outer product). A is the
    activated layer and dZ the buffer `forward` wrote f'(z) into.

    With compiled kernels (wdcli.fused), relu writes no dZ: its derivative [z > 0] is read
    off A = relu(z), and the mask and δ are multiplied in one pass."""

    def __init__(self, name: str, kernels: Kernels | None = None):
        self.forward: Activation = ACTIVATIONS[name]
        self.backward: Backward = _backward
        self.backward_outer: BackwardOuter = _backward_outer
        if name == "relu" and kernels is not None:
            self.forward = _fused_relu(kernels)
            self.backward = _fused_relu_backward(kernels)
            self.backward_outer = _fused_relu_outer(kernels)


def _backward(D: np.ndarray, A: np.ndarray, dZ: np.ndarray) -> None:
    D *= dZ


def _backward_outer(D: np.ndarray, A: np.ndarray, dZ: np.ndarray, delta: np.ndarray) -> None:
    np.multiply(dZ, delta, out=D)


def _fused_relu(kernels: Kernels) -> Activation:
    def forward(Z: np.ndarray, dZ: np.ndarray | None = None) -> None:
        kernels["relu_forward"](Z, Z.dtype.type(0), Z.dtype.type(1))

    return forward


def _fused_relu_backward(kernels: Kernels) -> Backward:
    def backward(D: np.ndarray, A: np.ndarray, dZ: np.ndarray) -> None:
        kernels["relu_backward"](D, A, D.dtype.type(0), D.dtype.type(1))

    return backward


def _fused_relu_outer(kernels: Kernels) -> BackwardOuter:
    def backward_outer(D: np.ndarray, A: np.ndarray, dZ: np.ndarray, delta: np.ndarray) -> None:
        kernels["relu_backward_outer"](D, A, delta, D.dtype.type(0), D.dtype.type(1))

    return backward_outer
