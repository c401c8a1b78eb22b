"""How fast the CLI answers: median wall time of quick commands, each a fresh process.

python benchmarks/bench_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [
    ["--help"],
    ["--version"],
    ["validate", "configs/mlp.yaml"],
    ["list", "datasets"],
    ["list", "models"],
    ["init"],
]


def wall_time(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "wdcli", *args],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    bare = statistics.median(
        wall_time_of([sys.executable, "-c", "pass"]) for _ in range(args.repeats)
    )
    print(f"{'command':<28} {'median s':>9}   (python itself: {bare:.3f} s)")
    for command in COMMANDS:
        times = [wall_time(command) for _ in range(args.repeats)]
        print(f"{'wdcli ' + ' '.join(command):<28} {statistics.median(times):>9.3f}")


def wall_time_of(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
