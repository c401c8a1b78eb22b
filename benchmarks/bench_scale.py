"""Benchmark: how a sweep's time and peak memory grow with n, d and K, and what two cores buy.

    .venv/bin/python benchmarks/bench_scale.py [--part scale|memory|cores] [--repeats 3]

1. scale: MLP and ridge sweeps over n (1e3 → 1e5 training samples), d (10 → 1000 features) and
   K = λ × seeds (1 → 256 models), each in a fresh process: the seconds spent building the
   data, the seconds spent training (medians of --repeats processes), and the process's peak
   RSS (os.wait4, as getrusage(RUSAGE_CHILDREN) reports it for that child alone). Serial.
2. memory: the whole `wdcli sweep` command for 64 λ × 4 seeds of the MLP on 100k training
   samples (2 epochs): its peak RSS must stay under 2 GB.
3. cores: the 16-λ setting of benchmarks/bench_mlp.py (n_train 2000, 20 features, hidden [64],
   100 epochs, batch 64, adam) in one process, in two worker processes (8 λ each; pool
   started, then timed), and as a loop of scikit-learn MLPRegressor fits, float64 and
   float32, interleaved; medians.

Numbers move on a shared machine: compare ratios and medians, not single runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402

MB = 1024  # ru_maxrss is in KiB on Linux

MLP = {"name": "mlp", "hidden": [64], "optimizer": "adam", "batch_size": 64, "epochs": 5,
       "eval_every": 5}  # fmt: skip


def mlp_config(n: int, d: int, lambdas: int, seeds: int, **model) -> dict:
    return {
        "name": "scale-mlp",
        "dataset": {
            "name": "friedman1",
            "n_samples": n + n // 4,
            "n_train": n,
            "n_features": d,
        },  # fmt: skip
        "model": {**MLP, **model},
        "lambdas": _grid(lambdas),
        "seeds": seeds,
    }


def _grid(lambdas: int):
    """`lambdas` λ from 1e-6 to 1; one λ is a list (num 1 with a stop is refused)."""
    return [1e-6] if lambdas == 1 else {"start": 1e-6, "stop": 1.0, "num": lambdas}


def ridge_config(n: int, d: int, lambdas: int, seeds: int) -> dict:
    return {
        "name": "scale-ridge",
        "dataset": {
            "name": "regression",
            "n_samples": n + n // 4,
            "n_train": n,
            "n_features": d,
        },  # fmt: skip
        "model": {"name": "linear"},
        "lambdas": _grid(lambdas),
        "seeds": seeds,
    }


# (what varies, n, d, λ, seeds)
GRID = [("n", n, 10, 16, 1) for n in (1_000, 10_000, 100_000)] + \
       [("d", 10_000, d, 16, 1) for d in (10, 100, 1000)] + \
       [("K", 10_000, 10, lam, seeds) for lam, seeds in ((1, 1), (4, 1), (16, 1), (64, 1),
                                                         (64, 4))]  # fmt: skip


# --------------------------------------------------------------------------- child processes


def child(spec: str) -> None:
    """Run one sweep in this process (serial), print its data and training seconds."""
    import sklearn.datasets  # noqa: F401 - imports are not the sweep's cost

    from wdcli.config import validate
    from wdcli.executors import SerialExecutor
    from wdcli.models import MODELS
    from wdcli.sweep import dataset_for, plan_units, run_unit

    config = validate(json.loads(spec), "bench")
    MODELS[config.model.name].fit_function()
    start = time.perf_counter()
    for seed in config.seed_values():
        dataset_for(config, seed)
    data_seconds = time.perf_counter() - start
    runs = 0
    start = time.perf_counter()
    for unit_runs in SerialExecutor().run(run_unit, config, plan_units(config)):
        runs += len(unit_runs)
    print(json.dumps({"data_s": data_seconds, "fit_s": time.perf_counter() - start,
                      "runs": runs}))  # fmt: skip


def measured(command: list[str]) -> tuple[str, float]:
    """(stdout, peak RSS in MB) of a command run to completion."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{command[:4]} failed with exit code {process.returncode}")
    return out, usage.ru_maxrss / MB


def run_child(config: dict) -> tuple[dict, float]:
    out, peak = measured([sys.executable, __file__, "--child", json.dumps(config)])
    return json.loads(out), peak


# --------------------------------------------------------------------------- parts


def median_child(config: dict, repeats: int) -> tuple[dict, float]:
    """Data and training seconds (Timings) over `repeats` fresh processes; the largest peak."""
    results = [run_child(config) for _ in range(repeats)]
    times = {key: common.Timing([r[key] for r, _ in results]) for key in ("data_s", "fit_s")}
    return times, max(peak for _, peak in results)


def scale(repeats: int) -> None:
    baseline = run_child(ridge_config(100, 10, 1, 1))[1]
    print(f"peak RSS of a process that imports everything and fits a tiny ridge: "
          f"{baseline:.0f} MB")  # fmt: skip
    for model, make in (("mlp", mlp_config), ("ridge", ridge_config)):
        note = f" (hidden {MLP['hidden']}, {MLP['epochs']} epochs, batch {MLP['batch_size']})"
        print(f"\n{model}{note if model == 'mlp' else ' (exact path)'}")
        print(f"{'varies':<6} {'n_train':>8} {'d':>5} {'λ':>4} {'seeds':>5} {'K':>4} "
              f"{'data s':>7} {'train s':>8} {'per model s':>11} {'peak MB':>8}")  # fmt: skip
        for varies, n, d, lambdas, seeds in GRID:
            result, peak = median_child(make(n, d, lambdas, seeds), repeats)
            K = lambdas * seeds
            print(f"{varies:<6} {n:>8} {d:>5} {lambdas:>4} {seeds:>5} {K:>4} "
                  f"{result['data_s'].median:>7.2f} {result['fit_s'].median:>8.2f} "
                  f"{result['fit_s'].median / K:>11.4f} {peak:>8.0f}  "
                  f"(train {result['fit_s'].min:.2f}–{result['fit_s'].max:.2f})",
                  flush=True)  # fmt: skip


def memory() -> None:
    config = mlp_config(100_000, 10, 64, 4, epochs=2, eval_every=1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.yaml"
        path.write_text(json.dumps(config))  # JSON is YAML
        command = [sys.executable, "-m", "wdcli", "sweep", str(path), "-e", "serial", "-q",
                   "-f", "csv", "-o", str(Path(folder) / "big.json")]  # fmt: skip
        start = time.perf_counter()
        _, peak = measured(command)
        seconds = time.perf_counter() - start
    verdict = "under" if peak < 2048 else "OVER"
    print(
        f"wdcli sweep, mlp hidden [64], 64 λ × 4 seeds = 256 models, n_train 100000, "
        f"10 features, 2 epochs: {seconds:.1f} s, peak RSS {peak:.0f} MB ({verdict} 2 GB)"
    )


def cores(repeats: int) -> None:
    import numpy as np
    from bench_mlp import LR, SMALL, sklearn_loop

    from wdcli.config import validate
    from wdcli.executors import ProcessExecutor, SerialExecutor
    from wdcli.sweep import dataset_for, plan_units, run_unit, unit_dataset, warm_worker

    warnings.simplefilter("ignore")  # scikit-learn's "maximum iterations reached"
    epochs, lambdas = SMALL["epochs"], np.logspace(-6, 0, SMALL["K"])
    HIDDEN, BATCH = SMALL["hidden"][0], SMALL["batch"]

    def config(dtype: str):  # bench_mlp's options and data, as a wdcli config
        return validate({
            "name": "cores",
            "dataset": {"name": "friedman1", "n_samples": 4000, "n_train": 2000,
                        "n_features": 20, "seed": 0},
            "model": {"name": "mlp", "hidden": [HIDDEN], "activation": "relu",
                      "optimizer": "adam", "lr": LR, "eps": 2e-8, "batch_size": BATCH,
                      "epochs": epochs, "dtype": dtype, "eval_every": epochs},
            "lambdas": [float(v) for v in lambdas],
            "seeds": [0],
        }, "bench")  # fmt: skip

    def sweep(executor, cfg):
        units = plan_units(cfg, workers=executor.workers)
        return lambda: sum(len(runs) for runs in executor.run(run_unit, cfg, units, unit_dataset))

    pool = ProcessExecutor(2, partial(warm_worker, "mlp"))
    jobs = {}
    for dtype in ("float64", "float32"):
        cfg = config(dtype)
        data = dataset_for(cfg, 0)
        sweep(pool, cfg)()  # start the workers and import there: the timed runs are warm
        sweep(SerialExecutor(), cfg)()  # and here (its first sweep took 1.45 s, then 0.9 s)
        jobs[("one process", dtype)] = sweep(SerialExecutor(), cfg)
        jobs[("two processes", dtype)] = sweep(pool, cfg)
        jobs[("scikit-learn", dtype)] = sklearn_loop(data, lambdas, dtype, [HIDDEN], epochs, BATCH)
    times = common.interleaved(jobs, repeats)
    print(f"16 λ, n_train 2000, 20 features, hidden [{HIDDEN}], {epochs} epochs, batch {BATCH}, "
          f"adam; median of {repeats}")  # fmt: skip
    rows = []
    for dtype in ("float64", "float32"):
        one, two = times[("one process", dtype)], times[("two processes", dtype)]
        theirs = times[("scikit-learn", dtype)]
        rows.append([dtype, str(one), str(two), common.ratio(one, two), str(theirs),
                     common.ratio(theirs, one), common.ratio(theirs, two)])  # fmt: skip
    common.table(["dtype", "one process", "two processes", "speed-up", "scikit-learn loop",
                  "ratio (1 process)", "ratio (2 processes)"], rows)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("scale", "memory", "cores"), action="append")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    parts = args.part or ["scale", "memory", "cores"]
    common.header("time and peak memory against n, d and K; what two cores buy")
    if "scale" in parts:
        scale(args.repeats)
    if "memory" in parts:
        print()
        memory()
    if "cores" in parts:
        print()
        cores(args.repeats)


if __name__ == "__main__":
    main()
