"""Benchmark: which executor is faster for which sweep, as a user runs it (the whole command).

    .venv/bin/python benchmarks/bench_executors.py [--repeats 5] [--only mlp-16]

Each case is timed as `wdcli sweep CONFIG --executor E` in a fresh process (start-up, imports,
worker processes and the journal included), the executors interleaved so that a busy machine
slows them alike; every number is the median over the repetitions. The rule in
`wdcli.sweep.schedule.choose` is read off this table (docs/scale.md).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

CASES = {  # name: config (a dict, written as YAML-compatible JSON)
    "mlp-tiny": {
        "dataset": {"name": "friedman1", "n_samples": 600, "n_train": 300},
        "model": {"name": "mlp", "hidden": [16], "epochs": 20, "batch_size": 32},
        "lambdas": {"start": 1e-4, "stop": 1.0, "num": 5, "include_zero": True},
        "seeds": 3,
    },
    "mlp-mid": {
        "dataset": {"name": "friedman1", "n_samples": 1200, "n_train": 200},
        "model": {
            "name": "mlp",
            "hidden": [64, 64],
            "epochs": 150,
            "batch_size": 32,
            "lr": 0.003,
        },  # fmt: skip
        "lambdas": {"start": 1e-4, "stop": 1.0, "num": 9, "include_zero": True},
        "seeds": 3,
    },  # configs/mlp.yaml
    "mlp-16": {
        "dataset": {"name": "friedman1", "n_samples": 4000, "n_train": 2000, "n_features": 20},
        "model": {
            "name": "mlp",
            "hidden": [64],
            "epochs": 100,
            "batch_size": 64,
            "eval_every": 100,
        },  # fmt: skip
        "lambdas": {"start": 1e-6, "stop": 1.0, "num": 16},
        "seeds": 1,
    },  # the 16-λ setting of benchmarks/bench_mlp.py
    "ridge-poly": {
        "dataset": {"name": "poly", "degree": 15, "n_samples": 530, "n_train": 30},
        "model": {"name": "linear"},
        "lambdas": {"start": 1e-9, "stop": 10.0, "num": 21, "include_zero": True},
        "seeds": 5,
    },  # configs/poly.yaml
    "ridge-big": {
        "dataset": {"name": "regression", "n_samples": 40000, "n_features": 500},
        "model": {"name": "linear"},
        "lambdas": {"start": 1e-4, "stop": 10.0, "num": 50},
        "seeds": 4,
    },
    "logistic-bc": {
        "dataset": {"name": "breast_cancer", "n_train": 60},
        "model": {"name": "logistic", "tol": 1e-8, "max_iter": 100},
        "lambdas": {"start": 1e-5, "stop": 10.0, "num": 13, "include_zero": True},
        "seeds": 5,
    },  # configs/logistic.yaml
    "logistic": {
        "dataset": {
            "name": "classification",
            "n_samples": 20000,
            "n_features": 100,
            "n_informative": 20,
            "n_classes": 3,
        },  # fmt: skip
        "model": {"name": "logistic"},
        "lambdas": {"start": 1e-5, "stop": 1.0, "num": 16},
        "seeds": 4,
    },
}
EXECUTORS = ("serial", "processes")


def sweep(config: Path, executor: str, out: Path) -> None:
    command = [sys.executable, "-m", "wdcli", "sweep", str(config), "--executor", executor,
               "--out", str(out), "--force", "--quiet", "--format", "csv"]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def bench(name: str, spec: dict, repeats: int, folder: Path) -> dict:
    config = folder / f"{name}.yaml"
    config.write_text(json.dumps({"name": name, **spec}))  # JSON is YAML
    jobs = {e: partial(sweep, config, e, folder / f"{name}.json") for e in EXECUTORS}
    return common.interleaved(jobs, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=sorted(CASES), action="append")
    args = parser.parse_args()
    from wdcli.config import validate
    from wdcli.executors import cpu_count
    from wdcli.sweep.schedule import choose, sweep_work

    common.header("serial against processes, whole `wdcli sweep` commands")
    print(f"{cpu_count()} cores; median of {args.repeats} (min–max) whole commands\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or CASES:
            config = validate({"name": name, **CASES[name]}, name)
            t = bench(name, CASES[name], args.repeats, Path(tmp))
            rows.append([name, f"{sweep_work(config):.2g}", str(t["serial"]),
                         str(t["processes"]), common.ratio(t["serial"], t["processes"]),
                         choose(config)[0]])  # fmt: skip
    common.table(["case", "work (MAC)", "serial", "processes", "serial / processes",
                  "default"], rows)  # fmt: skip


if __name__ == "__main__":
    main()
