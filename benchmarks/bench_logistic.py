"""Logistic: wdcli's batched 30-λ sweep against a scikit-learn LogisticRegression loop.

What a user would otherwise run: for each λ, LogisticRegression(C = 1/(2·n·λ), tol).fit on
the training split, then the train and test cross-entropy and accuracy. scikit-learn minimises
C·Σloss + ½‖w‖², i.e. n·C times wdcli's J = mean loss + λ‖w‖², and its lbfgs and newton-cholesky
solvers scale the problem to J itself internally, so the same `tol` bounds the same quantity,
the max-norm of ∇J: lbfgs stops at max|∇J| ≤ tol (or when J stops falling by 64·eps relative);
newton-cholesky at max|∇J| ≤ tol and ½·(Newton decrement)² ≤ tol; wdcli at max|∇J| ≤ tol and
a Newton step ≤ √tol. The table shows the resulting max|∇J| of each side, and the largest
relative gap in J between wdcli's solutions and scikit-learn's (positive: wdcli's is higher),
which must stay below MAX_GAP.

Both sides run in this one process, interleaved, repeats times, under the same threadpoolctl
limit (`--threads 1,default`: each case at one BLAS/OpenMP thread, then at the libraries'
defaults); times are medians with [min–max]. wdcli's solver holds its own BLAS calls to one
thread whatever the limit (see docs/logistic.md); scikit-learn runs at the limit.

    python benchmarks/bench_logistic.py [--repeats 3] [--threads 1,default]
        [--cases binary,cancer,classes5,digits] [--solvers lbfgs,newton-cholesky]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

from wdcli.config import BreastCancerData, ClassificationData, DigitsData, LogisticModel  # noqa: E402
from wdcli.data import Dataset, build_dataset  # noqa: E402
from wdcli.models.logistic import fit_logistic, solve_logistic  # noqa: E402

LAMBDAS = np.logspace(-6, 0, 30)
TOL = 1e-8
MAX_ITER = 10_000  # for scikit-learn; "conv" counts its fits that stopped before it
# Both stop at max|∇J| ≤ TOL, which pins J only as well as the curvature allows: at λ = 1e-6
# (curvature down to 2λ) the two L-BFGS solutions of digits differ by ±5e-8 relative in J.
MAX_GAP = 1e-6
CASES = {
    "binary": ClassificationData(
        name="classification", n_samples=2000, n_features=30, n_informative=10
    ),
    "cancer": BreastCancerData(name="breast_cancer"),
    "classes5": ClassificationData(
        name="classification", n_samples=2000, n_features=30, n_informative=10, n_classes=5
    ),
    "digits": DigitsData(name="digits"),  # 10 classes, 585 parameters per λ
}
SKLEARN_SOLVERS = ("lbfgs", "newton-cholesky")


def cross_entropy(model, X, y) -> tuple[float, float]:
    P = model.predict_proba(X)
    return float(-np.mean(np.log(P[np.arange(len(y)), y]))), float(model.score(X, y))


def sklearn_sweep(data: Dataset, solver: str) -> list[LogisticRegression]:
    """The loop a user would write: C = 1/(2nλ) (the same J), the same tol, intercept fitted
    and not penalised (as wdcli's), then both splits' cross-entropy and accuracy."""
    n = len(data.y_train)
    models = []
    for lam in LAMBDAS:
        model = LogisticRegression(C=1 / (2 * n * lam), tol=TOL, max_iter=MAX_ITER, solver=solver)
        model.fit(data.X_train, data.y_train)
        (
            cross_entropy(model, data.X_train, data.y_train),
            cross_entropy(model, data.X_test, data.y_test),
        )
        models.append(model)
    return models


def wdcli_sweep(data: Dataset):
    return fit_logistic(data, LAMBDAS, 0, LogisticModel(name="logistic", tol=TOL))


def objective_and_gradient(X, y, coef, intercept, lam) -> tuple[float, float]:
    """J and max|∇J| over (coef, intercept), written out: coef (C', d), C' = 1 for two classes."""
    L = X @ coef.T + intercept
    if coef.shape[0] == 1:
        z = L[:, 0]
        loss = np.logaddexp(0.0, z) - (y == 1) * z
        R = (1 / (1 + np.exp(-z)) - (y == 1))[:, None]
    else:
        top = L.max(axis=1, keepdims=True)
        E = np.exp(L - top)
        loss = (top[:, 0] + np.log(E.sum(axis=1))) - L[np.arange(len(y)), y]
        R = E / E.sum(axis=1, keepdims=True) - np.eye(coef.shape[0])[y]
    grad = np.hstack([R.T @ X / len(y) + 2 * lam * coef, R.mean(axis=0)[:, None]])
    return float(loss.mean() + lam * np.sum(coef**2)), float(np.abs(grad).max())


def bench(case: str, repeats: int, solvers: tuple[str, ...]) -> list[dict]:
    data = build_dataset(CASES[case], 0)
    runs = {"wdcli": lambda: wdcli_sweep(data)}
    for solver in solvers:
        runs[solver] = lambda s=solver: sklearn_sweep(data, s)
    # interleaved, so that a slow spell of the machine hits all sides
    times = common.interleaved(runs, repeats)
    path = solve_logistic(data.X_train, data.y_train, data.n_classes, LAMBDAS, TOL)
    X, y = data.X_train, data.y_train
    ours = [
        objective_and_gradient(X, y, path.coef[k], path.intercept[k], lam)
        for k, lam in enumerate(LAMBDAS)
    ]
    rows = [
        {
            "method": "wdcli",
            "time": times["wdcli"],
            "ratio": "1",
            "gap": 0.0,
            "grad": max(g for _, g in ours),
            "iterations": int(path.iterations.sum()),
            "converged": int(path.converged.sum()),
        }
    ]
    for solver in solvers:
        models = sklearn_sweep(data, solver)
        theirs = [
            objective_and_gradient(X, y, m.coef_, m.intercept_, lam)
            for m, lam in zip(models, LAMBDAS, strict=True)
        ]
        gaps = [(J - J_ref) / J_ref for (J, _), (J_ref, _) in zip(ours, theirs, strict=True)]
        assert max(gaps) <= MAX_GAP, f"{case}: wdcli's J is above {solver}'s by {max(gaps):.1e}"
        rows.append(
            {
                "method": solver,
                "time": times[solver],
                "ratio": common.ratio(times[solver], times["wdcli"]),
                "gap": max(gaps, key=abs),
                "grad": max(g for _, g in theirs),
                "iterations": int(sum(m.n_iter_[0] for m in models)),
                "converged": sum(int(m.n_iter_[0] < MAX_ITER) for m in models),
            }
        )
    shape = f"{X.shape[0]}×{X.shape[1]}, C={data.n_classes}"
    for row in rows:
        row.update(case=case, shape=shape)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", default="1,default", help="BLAS/OpenMP thread limits, comma-separated"
    )
    parser.add_argument(
        "--cases", default="binary,cancer,classes5", help=f"comma-separated, of: {', '.join(CASES)}"
    )
    parser.add_argument("--solvers", default=",".join(SKLEARN_SOLVERS), help="scikit-learn's")
    args = parser.parse_args()
    warnings.simplefilter("error")  # a ConvergenceWarning would make the comparison unfair
    solvers = tuple(args.solvers.split(","))
    common.header("wdcli's batched logistic sweep against a scikit-learn LogisticRegression loop")
    print(f"{len(LAMBDAS)} λ in [{LAMBDAS[0]:g}, {LAMBDAS[-1]:g}], tol {TOL:g}, "
          f"median (min–max) of {args.repeats}\n")  # fmt: skip
    columns = ["threads", "case", "n×d, classes", "method", "time: median (min–max)",
               "× wdcli's time", "iterations", "converged", "max abs ∇J", "rel ΔJ"]  # fmt: skip
    rows = []
    for threads in args.threads.split(","):
        limit = None if threads == "default" else int(threads)
        with threadpool_limits(limits=limit):
            for case in args.cases.split(","):
                for r in bench(case, args.repeats, solvers):
                    rows.append([threads, r["case"], r["shape"], r["method"], r["time"],
                                 r["ratio"], r["iterations"], r["converged"],
                                 f"{r['grad']:.1e}", f"{r['gap']:.1e}"])  # fmt: skip
    common.table(columns, rows)


if __name__ == "__main__":
    main()
