"""Benchmark: the stacked numpy MLP against a loop of scikit-learn MLPRegressor fits.

    .venv/bin/python benchmarks/bench_mlp.py [--repeats 3] [--epochs 100]

One process, timings interleaved (ours, scikit-learn, ours, …) so that a busy machine slows
both alike; every number is the median over the repetitions. Prints:

1. the machine's matmul peak (a 2000×2000 np.dot, all BLAS threads and one);
2. a 16-λ sweep (friedman1, 20 features, n_train 2000, hidden [64], relu, adam, batch 64)
   against MLPRegressor fitted once per λ with the same settings (alpha = λ·B, tol = 0 and
   n_iter_no_change = epochs so that it runs every epoch), in float64 and float32;
3. the GFLOP/s achieved (matmul flops of forward and backward) against the peaks;
4. time against the number of models K trained together.

Both sides run with one BLAS thread (the stacked MLP always does; its GEMMs are small).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.neural_network import MLPRegressor
from threadpoolctl import threadpool_limits

from wdcli.config import Friedman1Data, MLPModel
from wdcli.data import build_dataset
from wdcli.models.mlp import fit_mlp

HIDDEN, BATCH, LR = 64, 64, 1e-3
DTYPES = ("float64", "float32")


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def matmul_peak(threads: int | None, size: int = 2000, repeats: int = 5) -> float:
    """GFLOP/s of the best of `repeats` size×size float64 products."""
    a = np.random.default_rng(0).standard_normal((size, size))
    with threadpool_limits(limits=threads, user_api="blas"):
        a @ a
        best = min(timed(lambda: a @ a) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def options(dtype: str, epochs: int, eval_every: int | None = None) -> MLPModel:
    return MLPModel(
        name="mlp",
        hidden=[HIDDEN],
        activation="relu",
        optimizer="adam",
        lr=LR,
        eps=2e-8,  # = MLPRegressor's 1e-8 (its gradients are half of ours)
        batch_size=BATCH,
        epochs=epochs,
        dtype=dtype,
        eval_every=eval_every or epochs,
    )


def ours(data, lambdas, dtype: str, epochs: int, eval_every: int | None = None):
    return lambda: fit_mlp(data, lambdas, 0, options(dtype, epochs, eval_every))


def sklearn_loop(data, lambdas, dtype: str, epochs: int):
    X, y = data.X_train.astype(dtype), data.y_train.astype(dtype)

    def run():
        with threadpool_limits(limits=1, user_api="blas"):
            for lam in lambdas:
                MLPRegressor(
                    hidden_layer_sizes=(HIDDEN,),
                    activation="relu",
                    solver="adam",
                    alpha=lam * BATCH,
                    batch_size=BATCH,
                    learning_rate_init=LR,
                    max_iter=epochs,
                    tol=0.0,
                    n_iter_no_change=epochs,
                    random_state=0,
                ).fit(X, y)

    return run


def flops_per_epoch(n: int, d: int, K: int) -> float:
    """Matmul flops of one epoch: forward X·W1 and h·w2, backward Xᵀ·δ, hᵀ·δ and w2·δ."""
    return n * K * (4 * (d + 1) * HIDDEN + 6 * HIDDEN * 1)


def median_times(jobs: dict, repeats: int) -> dict:
    """Run every job `repeats` times, interleaved; the median time of each."""
    times = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, job in jobs.items():
            times[name].append(timed(job))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # scikit-learn's "maximum iterations reached"
    epochs, repeats = args.epochs, args.repeats
    config = Friedman1Data(name="friedman1", n_samples=4000, n_train=2000, n_features=20)
    data = build_dataset(config, seed=0)
    n, d = data.X_train.shape
    lambdas = np.logspace(-6, 0, 16)

    peak_all, peak_one = matmul_peak(None), matmul_peak(1)
    print(f"float64 matmul peak: {peak_all:.1f} GFLOP/s (all BLAS threads), "
          f"{peak_one:.1f} GFLOP/s (one thread)")  # fmt: skip

    print(f"\n16-λ sweep, n_train {n}, {d} features, hidden [{HIDDEN}], {epochs} epochs, "
          f"batch {BATCH}, adam; median of {repeats}")  # fmt: skip
    jobs = {}
    for dtype in DTYPES:
        jobs[("ours", dtype)] = ours(data, lambdas, dtype, epochs)
        jobs[("sklearn", dtype)] = sklearn_loop(data, lambdas, dtype, epochs)
    jobs[("ours, curves every epoch", "float64")] = ours(data, lambdas, "float64", epochs, 1)
    median = median_times(jobs, repeats)
    flops = flops_per_epoch(n, d, len(lambdas)) * epochs
    print(f"{'dtype':8} {'stacked MLP':>12} {'scikit-learn':>13} {'ratio':>7} "
          f"{'GFLOP/s':>8} {'% peak':>7} {'% 1-thread':>10}")  # fmt: skip
    for dtype in DTYPES:
        mine, theirs = median[("ours", dtype)], median[("sklearn", dtype)]
        rate = flops / mine / 1e9
        print(f"{dtype:8} {mine:11.2f}s {theirs:12.2f}s {theirs / mine:6.1f}× {rate:8.1f} "
              f"{100 * rate / peak_all:6.1f}% {100 * rate / peak_one:9.1f}%")  # fmt: skip
    with_curves = median[("ours, curves every epoch", "float64")]
    print(f"float64 with train/test curves at every epoch: {with_curves:.2f}s "
          f"({median[('sklearn', 'float64')] / with_curves:.1f}× scikit-learn)")  # fmt: skip

    print(f"\ntime against K (models trained together), median of {repeats}")
    sizes = (1, 4, 16, 64)
    jobs = {(K, dtype): ours(data, np.logspace(-6, 0, K), dtype, epochs) for K in sizes
            for dtype in DTYPES}  # fmt: skip
    median = median_times(jobs, repeats)
    print(f"{'K':>4} " + " ".join(f"{dt + ' s':>11} {'per model':>10} {'GFLOP/s':>8}"
                                  for dt in DTYPES))  # fmt: skip
    for K in sizes:
        cells = []
        for dtype in DTYPES:
            seconds = median[(K, dtype)]
            rate = flops_per_epoch(n, d, K) * epochs / seconds / 1e9
            cells.append(f"{seconds:10.2f}s {seconds / K:9.3f}s {rate:8.1f}")
        print(f"{K:4d} " + " ".join(cells))


if __name__ == "__main__":
    main()
