"""Benchmark: a λ × learning-rate sweep as one grid (stacked) against one wdcli per lr.

    .venv/bin/python benchmarks/bench_grid.py [--repeats 5] [--executor serial]

The grid sweep is `wdcli sweep CONFIG --grid model.lr=…`: every lr and λ of a seed trains as
ONE stacked model (the learning rate is a per-model vector in the optimiser). The baseline is
what a user without grids runs: `wdcli sweep CONFIG --set model.lr=X`, once per lr, each in a
fresh process. Both are timed as whole commands (start-up, imports, journal, results file);
the two are interleaved so that a busy machine slows them alike, and every number is the
median over the repetitions. The load average is printed beside the numbers.

The stacked numbers equal the separate runs' bit for bit (tests/test_grid.py checks this).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

LRS = [3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
BASE = {
    "name": "bench-grid",
    "dataset": {"name": "friedman1", "n_samples": 1200, "n_train": 200, "seed": 0},
    "lambdas": {"start": 1e-5, "stop": 1.0, "num": 11, "include_zero": True},
    "seeds": 2,
}
CASES = {  # name: the model; the λ × lr plane of configs/adamw_vs_l2.yaml at two sizes
    "small": {"name": "mlp", "hidden": [16], "epochs": 60, "batch_size": 32},
    "mid": {"name": "mlp", "hidden": [64, 64], "epochs": 60, "batch_size": 32},
}


def _wdcli(*args: str) -> list[str]:
    return [sys.executable, "-m", "wdcli", "sweep", *args, "-q", "-f", "csv", "--force"]


def _run(commands: list[list[str]]) -> None:
    for command in commands:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def run_case(name: str, repeats: int, executor: str, folder: Path) -> None:
    config = folder / f"{name}.yaml"
    config.write_text(json.dumps({**BASE, "model": CASES[name]}))
    out = str(folder / "r.json")
    grid = _wdcli(str(config), "--grid", "model.lr=" + ",".join(map(str, LRS)),
                  "-o", out, "-e", executor)  # fmt: skip
    separate = [
        _wdcli(str(config), "--set", f"model.lr={lr}", "-o", out, "-e", executor) for lr in LRS
    ]
    loads = [os.getloadavg()[0]]
    jobs = {"grid": partial(_run, [grid]), "separate": partial(_run, separate)}
    times = common.interleaved(jobs, repeats)
    loads.append(os.getloadavg()[0])
    print(f"### {name}: hidden {CASES[name]['hidden']}, 12 λ × {len(LRS)} lr × {BASE['seeds']} "
          f"seeds, {CASES[name]['epochs']} epochs, --executor {executor}, median of {repeats} "
          f"(min–max); load average {_list(loads, '.1f')} (start, end)\n")  # fmt: skip
    common.table(["one grid sweep (stacked)", f"{len(LRS)} separate invocations", "ratio"],
                 [[str(times["grid"]), str(times["separate"]),
                   common.ratio(times["separate"], times["grid"])]])  # fmt: skip


def _list(values, fmt: str = ".2f") -> str:
    return ", ".join(format(v, fmt) for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--executor", default="serial", help="for both (default: serial)")
    parser.add_argument("--only", choices=sorted(CASES), help="one case")
    args = parser.parse_args()
    common.header("a λ × lr grid as one stacked sweep against one wdcli per lr")
    with tempfile.TemporaryDirectory() as folder:
        for name in [args.only] if args.only else CASES:
            run_case(name, args.repeats, args.executor, Path(folder))


if __name__ == "__main__":
    main()
