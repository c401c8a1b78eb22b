"""How fast the CLI answers: median wall time of quick commands, each a fresh process.

python benchmarks/bench_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [
    ["--help"],
    ["--version"],
    ["validate", "configs/mlp.yaml"],
    ["list", "datasets"],
    ["list", "models"],
    ["init"],
]


def run(argv: list[str]) -> None:
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    common.header("start-up: wall time of quick commands, each a fresh process")
    jobs = {"python -c pass": partial(run, [sys.executable, "-c", "pass"])}
    for command in COMMANDS:
        jobs["wdcli " + " ".join(command)] = partial(run, [sys.executable, "-m", "wdcli", *command])
    times = common.interleaved(jobs, args.repeats, warmup=1)
    print(f"median of {args.repeats} (min–max), interleaved after a warm-up\n")
    common.table(["command", "wall time"], [[f"`{name}`", str(t)] for name, t in times.items()])


if __name__ == "__main__":
    main()
