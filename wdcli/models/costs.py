"""What training costs, per model: memory, multiply-adds, and the work that pays for processes.

Coarse by design (within a factor of a few), for the sweep's budget (wdcli.sweep.budget) and
its choice of executor (wdcli.sweep.schedule). A model's registry entry names its functions;
`options` is its `model:` section, read by attribute. Plain Python, no numpy.

- memory(options, shape, K, workers, runs) -> {config field: (bytes, what they hold)}: the
  parts a unit of K λ adds (per worker) beside the data and the run records; the key DATA adds
  its bytes to the data's part (and replaces its description).
- macs(options, shape, lambdas, seeds) -> multiply-adds of training every λ on every seed.
- work(options, shape, lambdas) -> multiply-adds of one seed's training including numpy's
  per-call overhead; a model without it runs serially by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

FLOAT = 8
POINT_BYTES = 120  # one curve point of a run: two losses and an epoch, as Python objects and JSON
STEP_MACS = 2e6  # numpy's overhead per layer and mini-batch, as multiply-adds (about 0.2 ms)
DATA = "the data"  # a memory part that adds to the data's own


@dataclass(frozen=True)
class Shape:
    """What the estimates need to know of the data: rows of each split, feature columns,
    model outputs."""

    n_train: int
    n_test: int
    d: int
    outputs: int = 1


# --------------------------------------------------------------------------- newton (default)


def newton_memory(options: Any, shape: Shape, K: int, workers: int, runs: int) -> dict:
    """Logistic regression's batched Newton over K λ: weights, gradients and L-BFGS's ten
    pairs of steps (26 p each), the (capped) dense Hessians, and the per-sample curvature of
    the Hessian-free products for one λ (two arrays of classes × rows with softmax, one
    binary), as Newton-CG takes over λ = 0 alone when L-BFGS converges the others."""
    outputs = max(1, shape.outputs)
    p = (shape.d + 1) * outputs
    per_sample = (2 * outputs if outputs > 1 else 1) * shape.n_train + shape.n_train
    classes = f", {outputs} classes × {shape.n_train} rows" if outputs > 1 else ""
    return {
        "lambdas": (
            workers * FLOAT * (26 * K * p + min(K * p * p, 2**24) + per_sample + 2**22),
            f"{K} λ's weights, Hessians and per-sample curvature{classes}",
        )
    }


def newton_macs(options: Any, shape: Shape, lambdas: int, seeds: int) -> float:
    p = (shape.d + 1) * shape.outputs
    return seeds * lambdas * 10 * shape.n_train * p * (p / 4 + 3)


# --------------------------------------------------------------------------- ridge


def ridge_memory(options: Any, shape: Shape, K: int, workers: int, runs: int) -> dict:
    """The factorisation of X (beside the data), and the weights of K λ. The Gram matrix and
    its eigenvectors are min(n, d)² each: XXᵀ when d > n (at 2·d², 60 000 features on 750
    rows were refused as 58.6 GB; they take 1.45 GB)."""
    n = shape.n_train + shape.n_test
    side = min(shape.n_train, shape.d)
    return {
        DATA: (
            workers * FLOAT * (3 * n * shape.d + 2 * side**2),
            f"the data ({n} × {shape.d}) and its factorisation",
        ),
        "lambdas": (workers * 3 * FLOAT * K * (shape.d + n), f"{K} λ's weights"),
    }


def ridge_macs(options: Any, shape: Shape, lambdas: int, seeds: int) -> float:
    n, d = shape.n_train, shape.d
    return seeds * (4.0 * n * d * min(n, d) + lambdas * (n + shape.n_test) * d)


# --------------------------------------------------------------------------- mlp


# Default curves (`eval_every: auto`) cost at most about this share of training time. A point
# is one forward product per layer over every evaluated row, a training epoch a forward and two
# backward products over the training rows: by products a point costs n_evaluated / (3·n_train)
# epochs, but timed inside runs (benchmarks/bench_mlp.py, case eval) it costs about
# n_evaluated / (2·n_train): the losses, sums and checks of an evaluation add their share.
EVAL_SHARE = 0.08
EPOCHS_PER_ROW_EVALUATED = 1 / 2  # a point's cost in epochs, per evaluated row per training row


def eval_stride(options: Any, n_train: int, n_evaluated: int) -> int:
    """Epochs between curve points: `model.eval_every`, or for `auto` the smallest stride whose
    evaluations (of n_evaluated rows in all splits) cost at most EVAL_SHARE of training."""
    if options.eval_every != "auto":
        return int(options.eval_every)
    point = EPOCHS_PER_ROW_EVALUATED * n_evaluated / n_train
    return max(1, math.ceil(point / EVAL_SHARE))


def mlp_memory(options: Any, shape: Shape, K: int, workers: int, runs: int) -> dict:
    """K stacked networks with gradients and optimiser state, and their loss curves."""
    sizes = (shape.d, *options.hidden, shape.outputs)
    params = K * sum((a + 1) * b for a, b in pairwise(sizes))
    batch = options.batch_rows(shape.n_train)
    activations = 3 * K * batch * sum(options.hidden)
    if options.eval_points is not None:  # log-spaced: at most that many, plus 0 and the last
        points = min(options.eval_points, options.epochs) + 2
    else:
        stride = eval_stride(options, shape.n_train, shape.n_train + shape.n_test)
        points = options.epochs // stride + 2
    return {
        "model.hidden": (
            workers * FLOAT * (8 * params + activations + 3 * shape.n_train * shape.d),
            f"{params // K:.3g} weights × {K} networks, with their gradients and optimiser state"
            + (f", in each of {workers} worker processes" if workers > 1 else ""),
        ),
        "model.epochs": (
            workers * 2 * FLOAT * K * points + runs * points * POINT_BYTES,
            f"the loss curves, {points} points per run (raise model.eval_every to keep fewer)",
        ),
    }


BIG_BATCH_SPEEDUP = 8.0  # GEMMs of ≥ 8 × 64 rows run about 8 × the rate of 64-row ones


def mlp_macs(options: Any, shape: Shape, lambdas: int, seeds: int) -> float:
    """Training MACs, counted at the rate of 64-row mini-batches (the spec's macs_per_second):
    larger batches make larger GEMMs, which run faster, up to BIG_BATCH_SPEEDUP (measured:
    configs/grokking.yaml, full batches of 4 704 rows, took 1.5 min against 12 estimated)."""
    n, d, C = shape.n_train, shape.d, shape.outputs
    sizes = (d, *options.hidden, C)
    per_row = sum(a * b for a, b in pairwise(sizes))
    rows = options.batch_rows(n)
    steps = options.epochs * math.ceil(n / rows)
    speedup = min(max(rows / 64, 1.0), BIG_BATCH_SPEEDUP)
    return seeds * (3.0 * options.epochs * n * per_row * lambdas / speedup + steps * 2e6)


def mlp_work(options: Any, shape: Shape, lambdas: int) -> float:
    """Forward and backward GEMMs plus STEP_MACS per layer and mini-batch."""
    n, d = shape.n_train, shape.d
    sizes = (d, *options.hidden, shape.outputs)
    per_row = sum(a * b for a, b in pairwise(sizes))
    steps = options.epochs * -(-n // options.batch_rows(n))
    return 3.0 * options.epochs * n * per_row * lambdas + steps * (len(sizes) - 1) * STEP_MACS
