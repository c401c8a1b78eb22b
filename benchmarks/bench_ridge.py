"""Ridge: wdcli's 50-λ path against a scikit-learn Ridge loop, as a ratio of medians.

What a user would otherwise run: for each λ, Ridge(alpha = n·λ).fit on the training split,
then the train and test MSE. wdcli computes the same numbers from one factorisation. Both sides
run in this one process, interleaved, at the default BLAS threads and at one thread.

    python benchmarks/bench_ridge.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

from wdcli.config import LinearModel  # noqa: E402
from wdcli.data import Dataset, standardise  # noqa: E402
from wdcli.models.linear import fit_ridge_path, ridge_path  # noqa: E402

CASES = {"tall": (20_000, 5_000, 200), "wide": (500, 500, 5_000)}  # n_train, n_test, d
LAMBDAS = np.logspace(-4, 2, 50)


def make_data(n_train: int, n_test: int, d: int, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_train + n_test, d))
    y = X[:, : min(d, 20)] @ rng.standard_normal(min(d, 20)) + rng.standard_normal(n_train + n_test)
    X_train, X_test = standardise(X[:n_train], X[n_train:])
    return Dataset(X_train, y[:n_train], X_test, y[n_train:], "regression")


def sklearn_sweep(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    n = len(data.y_train)
    coefs, losses = [], []
    for lam in LAMBDAS:
        model = Ridge(alpha=n * lam).fit(data.X_train, data.y_train)
        train = np.mean((data.y_train - model.predict(data.X_train)) ** 2)
        test = np.mean((data.y_test - model.predict(data.X_test)) ** 2)
        coefs.append(model.coef_)
        losses.append((train, test))
    return np.array(coefs), np.array(losses)


def wdcli_sweep(data: Dataset):
    return fit_ridge_path(data, LAMBDAS, 0, LinearModel(name="linear"))


def bench(case: str, repeats: int) -> dict:
    data = make_data(*CASES[case])
    jobs = {"ours": lambda: wdcli_sweep(data), "theirs": lambda: sklearn_sweep(data)}
    times = common.interleaved(jobs, repeats, warmup=1)
    W, _, _ = ridge_path(data.X_train, data.y_train, LAMBDAS)
    coefs, losses = sklearn_sweep(data)
    fit = wdcli_sweep(data)
    weight_error = np.max(np.abs(W - coefs) / np.max(np.abs(coefs), axis=1, keepdims=True))
    loss_error = np.max(np.abs(fit.test_loss - losses[:, 1]) / losses[:, 1])
    return {
        "ours": times["ours"],
        "theirs": times["theirs"],
        "weight_error": weight_error,
        "loss_error": loss_error,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    common.header("ridge: wdcli's 50-λ path against a Ridge loop")
    print(f"median of {args.repeats} (min–max), interleaved after a warm-up\n")
    rows = []
    for threads in (None, 1):
        for case in CASES:
            with threadpool_limits(limits=threads):
                r = bench(case, args.repeats)
            n_train, _, d = CASES[case]
            rows.append([f"{case}, n {n_train} × d {d}",
                         "default" if threads is None else str(threads), str(r["ours"]),
                         str(r["theirs"]), common.ratio(r["theirs"], r["ours"]),
                         f"{r['weight_error']:.1e}", f"{r['loss_error']:.1e}"])  # fmt: skip
    common.table(["case", "BLAS threads", "wdcli", "scikit-learn", "ratio",
                  "max rel. Δw", "max rel. Δloss"], rows)  # fmt: skip


if __name__ == "__main__":
    main()
