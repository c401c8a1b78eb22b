"""The numpy MLP: K networks, one per λ, trained together as one stacked model.

    J_k(θ) = L_data(θ) + λ_k · Σ_w w²        (weights only; biases are never penalised)

L_data is the mean over samples of (y − ŷ)² for regression (one identity output, no ½), or
of the natural-log cross-entropy for classification (one sigmoid output for two classes,
softmax above). `regularization: l2` adds 2λ·w to the gradient; `decoupled` leaves the
gradient alone and applies w ← w − η·2λ·w beside the optimiser step, from the pre-step w.

Layout: the K models share one architecture and are stacked on a leading axis; all their
parameters live in one flat vector θ (the gradient in one flat g), so that an optimiser step
is a few whole-vector numpy calls. Layer 1 is W1 (d + 1, K·h1) with the bias as its last row:
the inputs are shared, so X padded with a column of ones times W1 is ONE GEMM for all K, and
its gradient Xᵀ·δ is another, bias included. Later layers are W (K, h, h') and b (K, h'),
applied as batched matmuls (K, h', h)·(K, h, rows). Activations are feature-major,
(K, h, rows). docs/mlp.md says why each choice is the fast one.

Common random numbers: the initial weights (one network's, copied to all K) and the order of
the mini-batches come from two streams spawned from `np.random.SeedSequence(seed)` and depend
on nothing else, so a λ trains the same whatever other λ share the call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from wdcli import fpenv, fused
from wdcli.activations import Passes, sigmoid_into
from wdcli.data import REGRESSION, Dataset
from wdcli.metrics import health
from wdcli.models import Fit, costs
from wdcli.optim import Segments, Update, epoch_rates, lr_multiplier, penalty_rates

if TYPE_CHECKING:
    from wdcli.config import MLPModel

EVAL_BYTES = 2 * 2**20  # one layer's activations while evaluating: cache-sized chunks of rows
BLOCK = 64  # rows per partial sum when evaluating: sums do not depend on the chunk size
# What one step of a group of models touches (see group_slices): about a core's L2 cache.
# Measured on 64 λ (benchmarks/bench_mlp.py, case k): 16 small models a group against all 64
# in one stack, 1.35× faster in float64; 2 wide ([256, 256]) models against 6, 1.09×.
GROUP_BYTES = 3 * 2**20


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    """Where each layer of K stacked networks sits in the flat parameter vector.

    `sizes` is (d, h1, …, o). The views are [W1 (d + 1, K·h1) whose last row is b1,
    W2 (K, h1, h2), b2 (K, h2), …].
    """

    sizes: tuple[int, ...]
    K: int

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        d, h1 = self.sizes[:2]
        shapes: list[tuple[int, ...]] = [(d + 1, self.K * h1)]
        for fan_in, fan_out in pairwise(self.sizes[1:]):
            shapes += [(self.K, fan_in, fan_out), (self.K, fan_out)]
        return shapes

    @property
    def size(self) -> int:
        return sum(math.prod(shape) for shape in self.shapes)

    def views(self, flat: np.ndarray) -> list[np.ndarray]:
        views, start = [], 0
        for shape in self.shapes:
            stop = start + math.prod(shape)
            views.append(flat[start:stop].reshape(shape))
            start = stop
        return views

    def first(self, view: np.ndarray) -> np.ndarray:
        """Layer 1's (d + 1, K·h1) view seen as (d + 1, K, h1)."""
        return view.reshape(self.sizes[0] + 1, self.K, self.sizes[1])


def stack(layout: Layout, params: Sequence[np.ndarray], flat: np.ndarray) -> None:
    """Write [W1, b1, W2, b2, …] into `flat`: one network's (W (fan_in, fan_out), b (fan_out,)),
    copied to every model, or K networks' (W (K, fan_in, fan_out), b (K, fan_out))."""
    views = layout.views(flat)
    W1, b1 = params[0], params[1]
    first = layout.first(views[0])
    first[:-1] = W1[:, None, :] if W1.ndim == 2 else W1.transpose(1, 0, 2)
    first[-1] = b1
    for view, value in zip(views[1:], params[2:], strict=True):
        view[...] = value


def unstack(layout: Layout, flat: np.ndarray) -> list[np.ndarray]:
    """The K networks as [W1 (K, d, h1), b1 (K, h1), W2 (K, h1, h2), b2 (K, h2), …] (copies)."""
    views = layout.views(flat)
    first = layout.first(views[0])
    return [first[:-1].transpose(1, 0, 2).copy(), first[-1].copy()] + [v.copy() for v in views[1:]]


def per_model(layout: Layout, values: np.ndarray, biases: bool, dtype: npt.DTypeLike) -> np.ndarray:
    """A flat vector holding values[k] on model k's weights (and biases, when `biases`)."""
    flat = np.zeros(layout.size, dtype)
    views = layout.views(flat)
    first = layout.first(views[0])
    first[: None if biases else -1] = values[:, None]
    for i, view in enumerate(views[1:]):
        if biases or i % 2 == 0:
            view[...] = values.reshape((-1,) + (1,) * (view.ndim - 1))
    return flat


def segments(layout: Layout) -> Segments:
    """The flat vector as runs of one owner's entries: model k's weights are owner k, its
    biases owner K + k (what the update rules take their per-model coefficients from)."""
    K, d, h1 = layout.K, layout.sizes[0], layout.sizes[1]
    lengths = [np.full((d + 1) * K, h1)]
    owners = [np.r_[np.tile(np.arange(K), d), K + np.arange(K)]]
    for fan_in, fan_out in pairwise(layout.sizes[1:]):
        lengths += [np.full(K, fan_in * fan_out), np.full(K, fan_out)]
        owners += [np.arange(K), K + np.arange(K)]
    start = np.r_[0, np.cumsum(np.concatenate(lengths))].astype(np.int64)
    return Segments(start, np.concatenate(owners).astype(np.int64), 2 * K)


def max_abs(layout: Layout, flat: np.ndarray) -> np.ndarray:
    """max |value| over each of the K models' entries of a flat vector (NaN if any is NaN)."""
    views = layout.views(flat)
    first = layout.first(views[0])
    out = np.maximum(first.max(axis=(0, 2)), -first.min(axis=(0, 2)))
    for view in views[1:]:
        axes = tuple(range(1, view.ndim))
        out = np.maximum(out, np.maximum(view.max(axis=axes), -view.min(axis=axes)))
    return out


def _flat_sq_norm(layout: Layout, flat: np.ndarray) -> np.ndarray:
    """Σw² (weights only) of each of the K models of a flat vector, in float64."""
    views = layout.views(flat)
    first = layout.first(views[0])[:-1]
    out = np.einsum("dkh,dkh->k", first, first, dtype=np.float64)
    for W in views[1::2]:
        out += np.einsum("kij,kij->k", W, W, dtype=np.float64)
    return out


def weight_sq_norm(params: Sequence[np.ndarray]) -> np.ndarray:
    """Σw² over the weight matrices of each of the K networks of `unstack` (biases left out)."""
    K = params[0].shape[0]
    rows = (np.square(W, dtype=np.float64).reshape(K, math.prod(W.shape[1:])) for W in params[::2])
    return sum(np.sum(row, axis=1) for row in rows)


# --------------------------------------------------------------------------- set-up


def init_params(
    sizes: Sequence[int], activation: str, init: str, rng: np.random.Generator
) -> list[np.ndarray]:
    """One network's initial [W1, b1, W2, b2, …] in float64.

    sklearn: scikit-learn's MLP, W and b ~ U(±√(g/(fan_in + fan_out))) with g = 2 for sigmoid,
    6 otherwise, drawn W then b layer by layer (with a RandomState as `rng`, the very draws of
    MLPRegressor/MLPClassifier); he: W ~ N(0, 2/fan_in), b = 0; glorot:
    W ~ U(±√(6/(fan_in + fan_out))), b = 0; auto: he for sigmoid (its slope of ¼ needs the
    larger start), sklearn otherwise: what trained best where measured (docs/mlp.md).
    """
    if init == "auto":
        init = "he" if activation == "sigmoid" else "sklearn"
    params = []
    for fan_in, fan_out in pairwise(sizes):
        if init == "he":
            W, b = rng.normal(0.0, math.sqrt(2.0 / fan_in), (fan_in, fan_out)), np.zeros(fan_out)
        else:
            gain = 2.0 if init == "sklearn" and activation == "sigmoid" else 6.0
            bound = math.sqrt(gain / (fan_in + fan_out))
            W = rng.uniform(-bound, bound, (fan_in, fan_out))
            b = rng.uniform(-bound, bound, fan_out) if init == "sklearn" else np.zeros(fan_out)
        params += [W, b]
    return params


def encode_targets(
    y: np.ndarray, task: str, n_classes: int, dtype: npt.DTypeLike
) -> tuple[np.ndarray, str]:
    """Targets as output columns Y (n, o) and the loss: y itself for regression, 0/1 for two
    classes (one sigmoid output), one-hot for more (softmax)."""
    if task == REGRESSION:
        return np.asarray(y, dtype).reshape(-1, 1), "squared_error"
    y = np.asarray(y)
    if n_classes <= 2:
        return (y == 1).astype(dtype).reshape(-1, 1), "binary_log_loss"
    return (y[:, None] == np.arange(n_classes)).astype(dtype), "log_loss"


def _with_ones(X: np.ndarray, dtype: npt.DTypeLike) -> np.ndarray:
    """X with a column of ones appended: layer 1's bias is the last row of W1."""
    Xa = np.empty((X.shape[0], X.shape[1] + 1), dtype)
    Xa[:, :-1] = X
    Xa[:, -1] = 1
    return Xa


# --------------------------------------------------------------------------- passes


class _Net:
    """Views of a flat parameter (or gradient) vector shaped for the passes: W1 (d + 1, K·h1)
    with the bias as last row; then per layer W (K, h, h'), its transpose and b (K, h', 1)."""

    def __init__(self, layout: Layout, flat: np.ndarray):
        views = layout.views(flat)
        self.W1 = views[0]
        self.W = views[1::2]
        self.WT = [W.transpose(0, 2, 1) for W in self.W]
        self.b = [b[:, :, None] for b in views[2::2]]
        # Layer 2 has one unit (the output, or a hidden layer of width 1): w2 (K, h1, 1) as a
        # row, an entry per column of W1.
        one_unit = len(self.W) >= 1 and self.W[0].shape[2] == 1
        self.W1_columns_out = self.W[0].reshape(1, -1) if one_unit else None


class _Buffers:
    """Preallocated activations of every layer for `rows` rows, feature-major: Z (K, h, rows)
    per hidden layer and out (K, o, rows); for training also f'(z) and the backpropagated δ.

    Layer 1 writes its GEMM straight into Z[0] seen as (rows, K·h1) in Fortran order: in
    float64 OpenBLAS runs that shape markedly faster than a C-ordered (rows, K·h1) result.
    """

    def __init__(self, layout: Layout, rows: int, train: bool, dtype: npt.DTypeLike):
        K = layout.K
        self.Z = [np.empty((K, h, rows), dtype) for h in layout.sizes[1:-1]]
        self.out = np.empty((K, layout.sizes[-1], rows), dtype)
        self.layers = self.Z + [self.out]
        self.dZ = [np.empty_like(Z) if train else None for Z in self.Z]
        self.D = [np.empty_like(Z) for Z in self.Z] if train else []
        self.deltas_T = [D.transpose(0, 2, 1) for D in self.D + [self.out]]  # (K, rows, h)
        width = K * layout.sizes[1]
        self.first = self.layers[0].reshape(width, rows).T  # (rows, K·h1)
        self.first_delta = (self.D + [self.out])[0].reshape(width, rows).T if train else None


def _forward(P: _Net, Xa: np.ndarray, buf: _Buffers, act: Passes) -> np.ndarray:
    """The output layer's z (K, o, R) for the R rows of Xa; hidden activations stay in buf."""
    np.matmul(Xa, P.W1, out=buf.first)
    layers = buf.layers
    A = layers[0]
    for i in range(1, len(layers)):
        act.forward(A, buf.dZ[i - 1])
        Z = layers[i]
        np.matmul(P.WT[i - 1], A, out=Z)
        Z += P.b[i - 1]
        A = Z
    return A


def _backward(P: _Net, G: _Net, Xa: np.ndarray, buf: _Buffers, act: Passes) -> None:
    """Gradients of L_data into G, from the output layer's δ (K, o, R) in buf.out."""
    delta, first_delta = buf.out, buf.first_delta
    assert first_delta is not None, "training buffers"
    for i in range(len(buf.Z), 0, -1):
        A, W, D, dZ = buf.Z[i - 1], P.W[i - 1], buf.D[i - 1], buf.dZ[i - 1]
        assert dZ is not None, "training buffers"
        np.matmul(A, buf.deltas_T[i], out=G.W[i - 1])
        np.add.reduce(delta, axis=2, keepdims=True, out=G.b[i - 1])  # pairwise along rows
        if W.shape[2] > 1:  # δ below = (W·δ) ⊙ f'(z)
            np.matmul(W, delta, out=D)
            act.backward(D, A, dZ)
        elif i > 1:  # one output: W·δ is an outer product, cheaper as a broadcast
            np.multiply(W, delta, out=D)
            act.backward(D, A, dZ)
        else:  # ... and below it layer 1 only: scale its gradient's columns by w instead
            act.backward_outer(D, A, dZ, delta)
            np.matmul(Xa.T, first_delta, out=G.W1)
            G.W1 *= P.W1_columns_out
            return
        delta = D
    np.matmul(Xa.T, first_delta, out=G.W1)


def _buffers_for(
    cache: dict[tuple[int, int], _Buffers],
    layout: Layout,
    rows: int,
    train: bool,
    dtype: npt.DTypeLike,
) -> _Buffers:
    key = (layout.K, rows)
    if key not in cache:
        cache[key] = _Buffers(layout, rows, train, dtype)
    return cache[key]


# --------------------------------------------------------------------------- losses


def _softmax(z: np.ndarray) -> None:
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)


def _squared_rows(z: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return np.square(z[:, 0] - Y[0])


def _binary_rows(z: np.ndarray, Y: np.ndarray) -> np.ndarray:
    # −log σ(z) for y = 1, −log(1 − σ(z)) for y = 0
    return np.logaddexp(0, z[:, 0]) - Y[0] * z[:, 0]


def _softmax_rows(z: np.ndarray, Y: np.ndarray) -> np.ndarray:
    top = z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z - top).sum(axis=1)) + top[:, 0]
    return lse - np.sum(z * Y, axis=1)


@dataclass(frozen=True)
class Loss:
    """A data loss with its canonical output: δ = ∂L/∂z = (out(z) − y)·gradient_scale/R;
    `rows` gives the per-row loss (K, R) from z (K, o, R) and Y (o, R); classifiers name
    their labels (from Y) and predictions (from z)."""

    output: Callable[[np.ndarray], None] | None
    gradient_scale: float
    rows: Callable[[np.ndarray, np.ndarray], np.ndarray]
    labels: Callable[[np.ndarray], np.ndarray] | None = None
    predict: Callable[[np.ndarray], np.ndarray] | None = None


LOSSES = {
    "squared_error": Loss(None, gradient_scale=2.0, rows=_squared_rows),  # (ŷ − y)², no ½
    "binary_log_loss": Loss(lambda z: sigmoid_into(z, z), 1.0, _binary_rows,
                            labels=lambda Y: Y[0] > 0.5, predict=lambda z: z[:, 0] > 0),
    "log_loss": Loss(_softmax, 1.0, _softmax_rows, labels=lambda Y: Y.argmax(axis=0),
                     predict=lambda z: z.argmax(axis=1)),
}  # fmt: skip
"""name (as `encode_targets` gives it) -> Loss."""


def _output_delta(z: np.ndarray, Yb: np.ndarray, loss: Loss) -> np.ndarray:
    """Turn z (K, o, R) into δ = ∂L_data/∂z in place, given Yb (o, R): (ŷ − y)·2/R for squared
    error, (p − y)/R for cross-entropy with the canonical sigmoid or softmax output. Returns
    the batch's summed data loss per model (K,), float64: squared error from the residual at
    hand (one more pass), the others from z before it is overwritten."""
    if loss.output is not None:
        total = loss.rows(z, Yb).sum(axis=1, dtype=np.float64)
        loss.output(z)
    z -= Yb
    if loss.output is None:
        total = np.einsum("kor,kor->k", z, z, dtype=np.float64)
    z *= loss.gradient_scale / z.shape[2]
    return total


# --------------------------------------------------------------------------- evaluation


def _block_sums(row_losses: np.ndarray) -> np.ndarray:
    """(K, R) -> (K, ⌈R/BLOCK⌉) float64 sums of BLOCK rows, so that the total does not depend
    on how the rows were chunked (or on K)."""
    K, R = row_losses.shape
    blocks = -(-R // BLOCK)
    padded = np.zeros((K, blocks * BLOCK))
    padded[:, :R] = row_losses
    return padded.reshape(K, blocks, BLOCK).sum(axis=2)


class _Evaluator:
    """Mean data loss (and accuracy, for classification) of stacked models on one split,
    computed in chunks of rows so that memory stays bounded whatever K and n are."""

    def __init__(
        self, layout: Layout, X: np.ndarray, Y: np.ndarray, loss: str, dtype: npt.DTypeLike
    ):
        self.sizes, self.loss, self.dtype = layout.sizes, LOSSES[loss], dtype
        self.Xa, self.Yt = _with_ones(X, dtype), np.ascontiguousarray(np.asarray(Y, dtype).T)
        self.buffers: dict[tuple[int, int], _Buffers] = {}
        self.labels = None if self.loss.labels is None else self.loss.labels(self.Yt)

    def _rows(self, K: int) -> int:
        """Rows per chunk: one layer's (K, h, rows) activations about EVAL_BYTES."""
        row_bytes = max(K, 1) * max(self.sizes[1:]) * np.dtype(self.dtype).itemsize
        rows = EVAL_BYTES // row_bytes // BLOCK * BLOCK
        return min(max(BLOCK, rows), -(-len(self.Xa) // BLOCK) * BLOCK)

    def __call__(
        self, P: _Net, act: Passes, layout: Layout
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean loss (K,) and accuracy (K,) or None of the models of P (laid out by layout)."""
        n, step = len(self.Xa), self._rows(layout.K)
        sums, correct = [], 0
        predict = self.loss.predict  # set with `labels`
        for start in range(0, n, step):
            rows = slice(start, start + step)
            Xa = self.Xa[rows]
            buf = _buffers_for(self.buffers, layout, len(Xa), False, self.dtype)
            z = _forward(P, Xa, buf, act)
            sums.append(_block_sums(self.loss.rows(z, self.Yt[:, rows])))
            if self.labels is not None and predict is not None:
                correct = correct + np.sum(predict(z) == self.labels[rows], axis=1)
        mean = np.concatenate(sums, axis=1).sum(axis=1) / n
        return mean, (None if self.labels is None else np.asarray(correct / n))


def objective_and_gradient(
    params: Sequence[np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    lambdas: npt.ArrayLike,
    activation: str,
    loss: str,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """J_k = L_data + λ_k·Σw² of K networks on all rows of X, and ∂J/∂params.

    `params` and the gradient are as `unstack` gives them (leading axis K); Y and `loss` as
    `encode_targets` gives them. The same passes as training, on one full batch.
    """
    lambdas = np.asarray(lambdas, dtype=np.float64).reshape(-1)
    hidden = [W.shape[2] for W in params[0:-2:2]]
    layout = Layout((X.shape[1], *hidden, Y.shape[1]), len(lambdas))
    dtype = params[0].dtype
    theta, grad = np.zeros(layout.size, dtype), np.zeros(layout.size, dtype)
    stack(layout, params, theta)
    P, G = _Net(layout, theta), _Net(layout, grad)
    Xa, buf = _with_ones(X, dtype), _Buffers(layout, len(X), train=True, dtype=dtype)
    act = Passes(activation)
    z = _forward(P, Xa, buf, act)
    data_loss = LOSSES[loss].rows(z, Y.T).mean(axis=1)
    _output_delta(z, Y.T, LOSSES[loss])
    _backward(P, G, Xa, buf, act)
    grad += per_model(layout, 2 * lambdas, biases=False, dtype=dtype) * theta
    return data_loss + lambdas * weight_sq_norm(params), unstack(layout, grad)


# --------------------------------------------------------------------------- training


@dataclass
class Trained:
    """What `train_stacked` returns; arrays have K rows, one per λ.

    `params` are the trained networks as `unstack` gives them. Curves hold L_data on the whole
    split at each epoch of `epochs` (0 = before training; the last is the final epoch), NaN
    from the evaluation at which a run was found diverged. The final losses and accuracies are
    the curves' last column and the accuracies at the end (NaN for diverged runs). The
    accuracy curves (classification only) are recorded at the same epochs as the losses.
    `diverged` and `not_converged` are the training-health flags of wdcli.health;
    `late_decrease` is the share of the objective's decrease that came in the last tenth of
    the epochs (what `not_converged` is decided on); `late_fall` how far J fell in it, as a
    fraction of the baseline (wdcli.health.late_fall; NaN where it is not read).
    """

    params: list[np.ndarray]
    epochs: np.ndarray
    train_curve: np.ndarray
    test_curve: np.ndarray | None
    train_accuracy: np.ndarray | None
    test_accuracy: np.ndarray | None
    diverged: np.ndarray
    diverged_by: np.ndarray | None = None  # per model: the rule that found it diverged, or ""
    not_converged: np.ndarray | None = None
    late_decrease: np.ndarray | None = None
    late_fall: np.ndarray | None = None
    val_curve: np.ndarray | None = None
    train_accuracy_curve: np.ndarray | None = None
    test_accuracy_curve: np.ndarray | None = None


EvalCallback = Callable[[int, int, np.ndarray, np.ndarray | None], None]
"""on_eval(epoch, epochs, test_loss (K,), test_accuracy (K,) or None) after each evaluation."""


def eval_epochs(epochs: int, every: int, points: int | None = None) -> np.ndarray:
    """Epochs at which the curves are recorded: 0, every, 2·every, …, and always the last;
    or, with `points`, 0 and about that many epochs evenly spaced on a log scale up to the
    last (fewer where rounding makes early ones equal)."""
    if points is not None:
        return np.unique(np.r_[0, np.rint(np.geomspace(1, epochs, points)).astype(int), epochs])
    return np.unique(np.r_[np.arange(0, epochs + 1, every), epochs])


def group_slices(sizes: Sequence[int], K: int, dtype: npt.DTypeLike, rows: int) -> list[slice]:
    """The K models cut into groups of about equal size, each trained a whole epoch at a time,
    so that what a group's step touches (parameters, gradient and optimiser state, and the
    hidden activations of a batch of `rows`: about GROUP_BYTES) stays in the cache from one
    step to the next, however many λ a sweep stacks. Small networks on small batches stay one
    group (each group costs its own numpy calls per step)."""
    params = sum((a + 1) * b for a, b in pairwise(sizes))
    activations = 3 * sum(sizes[1:-1]) * rows  # z, f′(z) and δ of every hidden layer
    per_model = np.dtype(dtype).itemsize * (5 * params + activations)
    groups = max(1, min(K, -(-K * per_model // GROUP_BYTES)))
    cuts = np.linspace(0, K, groups + 1).round().astype(int)
    return [slice(a, b) for a, b in pairwise(cuts)]


def train_stacked(
    X: np.ndarray,
    Y: np.ndarray,
    params: Sequence[np.ndarray],
    lambdas: np.ndarray,
    orders: Iterable[np.ndarray],
    options: MLPModel,
    loss: str,
    X_test: np.ndarray | None = None,
    Y_test: np.ndarray | None = None,
    lrs: np.ndarray | None = None,
    X_val: np.ndarray | None = None,
    Y_val: np.ndarray | None = None,
    on_eval: EvalCallback | None = None,
) -> Trained:
    """Train K = len(lambdas) networks from the same initial `params`, one per λ.

    X (n, d) and Y (n, o) are the training rows and output columns (see `encode_targets`,
    which also gives `loss`); `params` is [W1, b1, W2, b2, …] as `stack` takes it. `orders`
    yields one permutation of range(n) per epoch (options.epochs of them); each epoch's
    mini-batches are consecutive runs of batch_size rows of it, the last one shorter when
    batch_size does not divide n; with batch_size 'full' every epoch is one step on all rows
    in their given order, and `orders` is not read. Everything else comes from `options` (an
    MLPModel), except the learning rate when `lrs` gives one per model (K values). X_val/Y_val
    add a third evaluated split (its curve is `val_curve`); `on_eval` hears of every
    evaluation (for progress on a terminal).
    """
    dtype = np.dtype(options.dtype)
    lambdas = np.asarray(lambdas, dtype=np.float64).reshape(-1)
    K, sizes = len(lambdas), (X.shape[1], *options.hidden, Y.shape[1])
    layout = Layout(sizes, K)
    evaluators = [_Evaluator(layout, X, Y, loss, dtype)]
    if X_test is not None:
        assert Y_test is not None, "X_test comes with Y_test"
        evaluators.append(_Evaluator(layout, X_test, Y_test, loss, dtype))
    if X_val is not None:
        assert Y_val is not None, "X_val comes with Y_val"
        evaluators.append(_Evaluator(layout, X_val, Y_val, loss, dtype))
    sampled = _sampled(evaluators, options, [(X, Y), (X_test, Y_test), (X_val, Y_val)], loss)
    shared = (_with_ones(X, dtype), np.ascontiguousarray(np.asarray(Y, dtype).T))
    groups = group_slices(sizes, K, dtype, options.batch_rows(len(X)))
    kernels = fused.kernels_for(_work(sizes, K, len(X), options))
    trainers = []
    for models in groups:
        part = Layout(sizes, models.stop - models.start)
        theta = np.zeros(part.size, dtype)
        stack(part, params, theta)
        group_lrs = None if lrs is None else np.asarray(lrs, dtype=np.float64)[models]
        trainers.append(_Trainer(part, theta, X, Y, lambdas[models], options, loss, group_lrs,
                                 shared=shared, kernels=kernels))  # fmt: skip
        trainers[-1].freeze(_decay_flips(options, lambdas[models], group_lrs))
    stride = costs.eval_stride(options, len(X), sum(len(e.Xa) for e in evaluators))
    record = eval_epochs(options.epochs, stride, options.eval_points)
    columns = {int(epoch): column for column, epoch in enumerate(record)}
    late = health.late_epoch(options.epochs, epoch_rates(options, trainers[0].steps_per_epoch)
                             if options.schedule != "constant" and trainers else None)  # fmt: skip
    baseline = trainers[0].baseline if trainers else np.nan
    decoupled = health.decouples_in(options)
    curves = np.full((len(evaluators), K, len(record)), np.nan)
    acc_curves = np.full_like(curves, np.nan)
    objective = {}  # J = L_data + λ·Σw² on the training split at epochs 0, `late` and the last
    accuracy: list[np.ndarray | None] = [None] * len(evaluators)
    orders = iter(orders)
    diverged = np.zeros(K, bool)

    def lowest_so_far() -> np.ndarray:
        """The groups' lowest epoch objectives, (K,)."""
        return np.concatenate([t.lowest for t in trainers] or [np.empty(0)])

    def gather_diverged() -> None:
        """The groups' diverged models into `diverged` (K,)."""
        for models, trainer in zip(groups, trainers, strict=True):
            diverged[models] = trainer.diverged

    # One BLAS thread: the GEMMs here are small, so threads cost more than they give, and
    # single-threaded GEMM gives each column the same bits whatever K is (threaded it does not);
    # it also runs in this thread, where flush_to_zero keeps subnormal numbers from slowing
    # it down (wdcli.fpenv). Overflow is expected (e^z in activations) and divergence is
    # handled below.
    ignore = np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")
    with threadpool_limits(limits=1, user_api="blas"), ignore, fpenv.flush_to_zero():
        for epoch in range(options.epochs + 1):
            if epoch > 0:
                _train_epoch(trainers, shared, orders, options)
            column = columns.get(epoch)
            if column is not None:
                exact = epoch in (0, late, options.epochs)
                splits = evaluators if exact else sampled
                accuracy = _evaluate(trainers, groups, splits, curves[:, :, column])
                gather_diverged()  # found at this evaluation too: its accuracy is NaN as well
                for i, acc in enumerate(accuracy):
                    if acc is not None:
                        acc_curves[i, :, column] = np.where(diverged, np.nan, acc)
                if on_eval is not None:
                    test = 1 if X_test is not None else 0
                    on_eval(epoch, options.epochs, curves[test, :, column], accuracy[test])
                train_loss = curves[0, :, column]
            elif epoch == late:  # the training loss alone, for the convergence check
                train_loss = np.empty((1, K))
                _evaluate(trainers, groups, evaluators[:1], train_loss)
                gather_diverged()
                train_loss = train_loss[0]
            else:
                continue
            if epoch in (0, late, options.epochs):
                sq_norm = [_flat_sq_norm(t.layout, t.theta) for t in trainers]
                objective[epoch] = train_loss + lambdas * np.concatenate(sq_norm or [np.empty(0)])
            if epoch == late:  # the lowest J by then: a spike at `late` is not a decrease after it
                objective[late] = np.fmin(objective[late], lowest_so_far())
        start, end = objective[0], objective[options.epochs]
        late_share = health.late_decrease(start, objective[late], end)
        not_converged = health.still_falling(start, objective[late], end)
        not_converged |= health.above_constant(end, baseline, lambdas, decoupled)
        not_converged |= health.never_moved(start, end, lambdas, decoupled)
        # where J is what the optimiser descends (`health.descends_j`), at a constant rate
        # (a schedule's annealing brings its own late drop, from the noise it ends)
        readable = health.descends_j(lambdas, decoupled) & (options.schedule == "constant")
        fall = np.where(readable, health.late_fall(objective[late], end, baseline), np.nan)
    lowest = np.fmin.reduce([lowest_so_far(), start, objective[late], end])
    gather_diverged()
    relapsed = health.relapsed(end, lowest, baseline, lambdas, decoupled) & ~diverged
    went_up = health.went_up(start, end, lambdas, decoupled) & ~diverged
    diverged_by = np.where(diverged, health.BLEW_UP, "").astype(object)  # which rule fired
    diverged_by[_decay_flips(options, lambdas, lrs)] = health.DECAY_FLIPS
    diverged_by[relapsed] = health.RELAPSED
    diverged_by[went_up] = health.WENT_UP
    went_up |= relapsed
    curves[:, went_up, -1] = acc_curves[:, went_up, -1] = np.nan
    for models, trainer in zip(groups, trainers, strict=True):
        trainer.freeze(went_up[models])
    gather_diverged()
    for acc in accuracy:
        if acc is not None:
            acc[diverged] = np.nan
    late_share[diverged] = fall[diverged] = np.nan
    return Trained(
        params=_unstack_groups(layout, trainers),
        epochs=record,
        train_curve=curves[0],
        test_curve=curves[1] if X_test is not None else None,
        train_accuracy=accuracy[0],
        test_accuracy=accuracy[1] if X_test is not None else None,
        diverged=diverged,
        diverged_by=diverged_by,
        not_converged=not_converged & ~diverged,
        late_decrease=late_share,
        late_fall=fall,
        val_curve=curves[-1] if X_val is not None else None,
        train_accuracy_curve=acc_curves[0] if accuracy[0] is not None else None,
        test_accuracy_curve=acc_curves[1]
        if X_test is not None and accuracy[1] is not None
        else None,
    )


def _decay_flips(options: MLPModel, lambdas: np.ndarray, lrs: np.ndarray | None) -> np.ndarray:
    """The models that `health.decay_flips`: `diverged` from the start, not trained."""
    if not health.decouples_in(options):
        return np.zeros(len(lambdas), bool)
    lr = options.lr if lrs is None else lrs
    return health.decay_flips(lambdas, lr, options.decay_convention == "paper")


def _work(sizes: Sequence[int], K: int, n: int, options: MLPModel) -> float:
    """Element-steps of a run: parameters per step plus hidden activations per row, all K."""
    steps = options.epochs * -(-n // options.batch_rows(n))
    params = sum((a + 1) * b for a, b in pairwise(sizes))
    return K * (params * steps + sum(sizes[1:-1]) * n * options.epochs)


def _sampled(evaluators: list, options: MLPModel, splits: list, loss: str) -> list:
    """Evaluators of the curves' points in between: every s-th row of a split larger than
    options.eval_rows (s = ⌈n / eval_rows⌉), the whole split otherwise or with full batches."""
    limit = options.eval_rows
    if limit is None or options.batch_size == "full":
        return evaluators
    out, splits = [], [(X, Y) for X, Y in splits if X is not None]
    for evaluator, (X, Y) in zip(evaluators, splits, strict=True):
        stride = -(-len(X) // limit)
        if stride > 1:
            layout = Layout(evaluator.sizes, 1)
            evaluator = _Evaluator(layout, X[::stride], Y[::stride], loss, evaluator.dtype)
        out.append(evaluator)
    return out


def _train_epoch(
    trainers: list[_Trainer],
    shared: tuple[np.ndarray, np.ndarray],
    orders: Iterator[np.ndarray],
    options: MLPModel,
) -> None:
    """One epoch of every group, group after group (the models are independent)."""
    Xa, Yt = shared
    if options.batch_size != "full":
        order = next(orders, None)
        if order is None:
            raise ValueError(f"orders: fewer than {options.epochs} permutations")
        Xa, Yt = np.take(Xa, order, axis=0), np.take(Yt, order, axis=1)
    batch = options.batch_rows(len(Xa))
    for trainer in trainers:
        for start in range(0, len(Xa), batch):
            trainer.step(Xa[start : start + batch], Yt[:, start : start + batch])
        trainer.end_epoch()


def _evaluate(
    trainers: list[_Trainer], groups: list[slice], evaluators: list[_Evaluator], out: np.ndarray
) -> list[np.ndarray | None]:
    """Every group's losses into out (splits, K); the accuracies (K,) (or None) returned."""
    accuracy: list[list[np.ndarray | None]] = [[] for _ in evaluators]
    for models, trainer in zip(groups, trainers, strict=True):
        for i, acc in enumerate(trainer.evaluate(evaluators, out[:, models])):
            accuracy[i].append(acc)
    # a split has accuracies in every group or in none (it is the same loss)
    return [None if parts and parts[0] is None
            else np.concatenate([acc for acc in parts if acc is not None] or [np.empty(0)])
            for parts in accuracy]  # fmt: skip


def _unstack_groups(layout: Layout, trainers: list[_Trainer]) -> list[np.ndarray]:
    """The K networks as `unstack` gives them, from the groups' flat vectors."""
    if not trainers:
        return unstack(layout, np.zeros(layout.size))
    parts = [unstack(t.layout, t.theta) for t in trainers]
    return [np.concatenate(arrays) for arrays in zip(*parts, strict=True)]


class _Trainer:
    """The state of one stacked training run (a group of models): parameters, gradient, the
    update chain of wdcli.optim, buffers; `kernels` are wdcli.fused's compiled ones, or None
    for the numpy path."""

    def __init__(self, layout: Layout, theta: np.ndarray, X: np.ndarray, Y: np.ndarray,
                 lambdas: np.ndarray, options: MLPModel, loss: str, lrs: np.ndarray | None = None,
                 shared: tuple[np.ndarray, np.ndarray] | None = None,
                 kernels: fused.Kernels | None = None):  # fmt: skip
        dtype = theta.dtype
        self.layout, self.theta, self.loss, self.options = layout, theta, LOSSES[loss], options
        self.grad = np.zeros_like(theta)
        self.P, self.G = _Net(layout, theta), _Net(layout, self.grad)
        if shared is None:
            shared = (_with_ones(X, dtype), np.ascontiguousarray(np.asarray(Y, dtype).T))
        self.Xa, self.Yt = shared
        self.full = options.batch_size == "full"
        self.batch = options.batch_rows(len(X))
        self.steps_per_epoch = -(-len(X) // self.batch)
        self.step_count = 0
        self.buffers: dict[tuple[int, int], _Buffers] = {}
        self.activation = Passes(options.activation, kernels)
        lr = options.lr if lrs is None else np.asarray(lrs, dtype=np.float64)
        lambdas = np.asarray(lambdas, dtype=np.float64)
        self.update = Update(segments(layout), theta, options, lr, penalty_rates(lambdas),
                             kernels=kernels)  # fmt: skip
        self.optimizer = self.update.rule
        self.scheduled = options.schedule != "constant"
        self.diverged = np.zeros(layout.K, bool)
        labels = self.Yt[0] if self.loss.labels is None else self.loss.labels(self.Yt)
        self.baseline = health.baseline_loss(labels, self.loss.labels is not None)
        self.limit = health.weight_limit(self.Yt)
        self.start_loss = None  # the training loss at epoch 0
        self.epoch_loss = np.zeros(layout.K)  # this epoch's mini-batch losses, summed
        self.epoch_rows = 0
        self.lambdas = np.asarray(lambdas, dtype=np.float64)
        self.lowest = np.full(layout.K, np.inf)  # the lowest epoch objective J so far

    def epoch(self, order: np.ndarray) -> None:
        """One pass over the training rows in the given order."""
        Xp, Yp = np.take(self.Xa, order, axis=0), np.take(self.Yt, order, axis=1)
        for start in range(0, len(Xp), self.batch):
            self.step(Xp[start : start + self.batch], Yp[:, start : start + self.batch])

    def step(self, xb: np.ndarray, yb: np.ndarray) -> None:
        """One optimiser step on the rows xb (R, d + 1) with output columns yb (o, R)."""
        buf = _buffers_for(self.buffers, self.layout, len(xb), True, self.theta.dtype)
        z = _forward(self.P, xb, buf, self.activation)
        self.epoch_loss += _output_delta(z, yb, self.loss)
        self.epoch_rows += len(xb)
        _backward(self.P, self.G, xb, buf, self.activation)
        if self.scheduled:
            eta = lr_multiplier(self.options, self.step_count, self.steps_per_epoch)
            self.update.set_eta(eta)
            self.step_count += 1
        self.update.apply(self.grad)

    def end_epoch(self) -> None:
        """Check the epoch's training loss, the mean of its mini-batch losses (each taken
        before its step): a blow-up freezes the run at once, whatever the evaluation stride;
        the lowest objective J (that loss + λ·Σw²) is kept for `health.relapsed`."""
        loss = self.epoch_loss / max(self.epoch_rows, 1)
        self.epoch_loss[:], self.epoch_rows = 0, 0
        if self.start_loss is not None:
            self.freeze(health.blew_up(loss, self.start_loss, self.baseline))
        objective = loss + self.lambdas * _flat_sq_norm(self.layout, self.theta)
        self.lowest = np.fmin(self.lowest, np.where(self.diverged, np.nan, objective))
        self.check_parameters()

    def check_parameters(self) -> None:
        """Mark diverged the models whose parameters are non-finite or beyond the bound of
        wdcli.health (before they overflow), or whose optimiser state overflowed."""
        bad = ~(max_abs(self.layout, self.theta) <= self.limit)
        for state in self.optimizer.state():
            bad |= ~np.isfinite(max_abs(self.layout, state))
        self.freeze(bad)

    def evaluate(self, evaluators: list[_Evaluator], out: np.ndarray) -> list[np.ndarray | None]:
        """Losses of every split into out (splits, K); the accuracies (or None) returned."""
        accuracy = []
        for i, evaluate in enumerate(evaluators):
            out[i], acc = evaluate(self.P, self.activation, self.layout)
            accuracy.append(acc)
        start_loss = self.start_loss
        if start_loss is None:
            start_loss = self.start_loss = out[0].copy()
        self.freeze(health.blew_up(out[0], start_loss, self.baseline))
        out[:, self.diverged] = np.nan
        return accuracy

    def freeze(self, models: np.ndarray) -> None:
        """Stop training the given models: their parameters stay as they are from now on."""
        new = models & ~self.diverged
        if not new.any():
            return
        self.diverged |= new
        self.update.freeze(self.diverged)


# --------------------------------------------------------------------------- the model


def fit_mlp(
    data: Dataset,
    lambdas: np.ndarray,
    seed: int,
    options: MLPModel,
    lrs: np.ndarray | None = None,
    on_eval: EvalCallback | None = None,
) -> Fit:
    """Train one MLP per λ on `data`, all together, with the seed's initial weights and
    mini-batch order shared by every λ (see the module docstring). `lrs` gives each model
    its own learning rate (λ may then repeat); a dataset with a validation split (X_val,
    y_val) adds its loss as the metric `val_loss`; `on_eval` hears of every evaluation (for
    progress on a terminal)."""
    dtype = np.dtype(options.dtype)
    lambdas = np.asarray(lambdas, dtype=np.float64).reshape(-1)
    shift, scale = data.target_scale or (0.0, 1.0)  # train on (y − mean)/std when set
    y_train, y_test = data.y_train, data.y_test
    if data.target_scale is not None:
        y_train, y_test = (y_train - shift) / scale, (y_test - shift) / scale
    Y, loss = encode_targets(y_train, data.task, data.n_classes, dtype)
    Y_test, _ = encode_targets(y_test, data.task, data.n_classes, dtype)
    init_stream, order_stream = np.random.SeedSequence(seed).spawn(2)
    sizes = (data.X_train.shape[1], *options.hidden, Y.shape[1])
    init_rng = np.random.default_rng(init_stream)
    params = init_params(sizes, options.activation, options.init, init_rng)
    # an input constant in the training rows gets no gradient: its random weights would only
    # decay, and test rows where it varies would be scored on them (701 against 0.065)
    params[0][np.ptp(data.X_train, axis=0) == 0] = 0.0
    order_rng = np.random.default_rng(order_stream)
    full = options.batch_size == "full"  # one fixed order: nothing to draw
    orders = () if full else (order_rng.permutation(len(Y)) for _ in range(options.epochs))
    # a tuning dataset (wdcli.sweep.stacking.TuneData) adds a validation split
    X_val, y_val = getattr(data, "X_val", None), getattr(data, "y_val", None)
    Y_val = None
    if X_val is not None:
        assert y_val is not None, "X_val comes with y_val"
        y_val = y_val if data.target_scale is None else (y_val - shift) / scale
        Y_val = encode_targets(y_val, data.task, data.n_classes, dtype)[0]
    run = train_stacked(data.X_train, Y, params, lambdas, orders, options, loss,
                        data.X_test, Y_test, lrs=lrs, X_val=X_val, Y_val=Y_val,
                        on_eval=on_eval)  # fmt: skip
    with np.errstate(over="ignore", invalid="ignore"):  # a huge lr: Σw² overflows to inf
        sq_norm = weight_sq_norm(run.params)
    sq_norm[run.diverged] = np.nan
    start_sq_norm = np.full(len(lambdas), weight_sq_norm([p[None] for p in params])[0])
    units = scale**2  # squared errors back in target units (1 without target scaling)
    # a test split was given, so its curve (and accuracies, for classification) are there
    assert run.test_curve is not None and run.late_decrease is not None
    train_curve, test_curve = run.train_curve * units, run.test_curve * units
    metrics: dict[str, np.ndarray] = {}
    curves = {"epoch": run.epochs, "train_loss": train_curve, "test_loss": test_curve}
    if run.train_accuracy is not None:
        assert run.test_accuracy is not None and run.train_accuracy_curve is not None
        assert run.test_accuracy_curve is not None
        metrics = {"train_accuracy": run.train_accuracy, "test_accuracy": run.test_accuracy}
        curves["train_accuracy"] = run.train_accuracy_curve
        curves["test_accuracy"] = run.test_accuracy_curve
    metrics["late_decrease"] = run.late_decrease
    if run.late_fall is not None:
        metrics["late_fall"] = run.late_fall
    if run.val_curve is not None:
        metrics["val_loss"] = run.val_curve[:, -1] * units
    return Fit(
        train_loss=train_curve[:, -1].copy(),
        test_loss=test_curve[:, -1].copy(),
        weight_sq_norm=sq_norm,
        metrics=metrics,
        curves=curves,
        diverged=run.diverged,
        diverged_by=run.diverged_by,
        not_converged=run.not_converged,
        loss_scale=units,
        start_weight_sq_norm=start_sq_norm,
    )
