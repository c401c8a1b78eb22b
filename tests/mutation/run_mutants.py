"""Mutation check: put deliberate bugs into the code, one at a time, and see the tests catch them.

Each mutant replaces one exact snippet of a source file (it must occur exactly once). A mutant
is *killed* when the quick suite (`pytest -m "not slow" -x`) fails with it in place. The tree
is copied once to a temporary folder, so the working tree is never touched.

    python tests/mutation/run_mutants.py            # all mutants, a table on stdout
    python tests/mutation/run_mutants.py summary    # only those whose name contains 'summary'
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mutants import MUTANTS

ROOT = Path(__file__).resolve().parents[2]


def run_suite(tree: Path, timeout: float) -> bool:
    """True when the quick suite passes in `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-m", "not slow", "-p",
               "no:cacheprovider", "tests"]  # fmt: skip
    try:
        done = subprocess.run(command, cwd=tree, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False  # a mutant that hangs the suite is caught too
    return done.returncode == 0


def main(pattern: str = "") -> int:
    chosen = [m for m in MUTANTS if pattern in m.name]
    if not chosen:  # "0 of 0 killed" passed a misspelt name (or --help) as a success
        print(f"no mutant's name contains {pattern!r}; the names are in tests/mutation/*.py")
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "tree"
        shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(".venv", ".git", "results"))
        (tree / "results").mkdir()
        if not run_suite(tree, timeout=900):
            print("the unmutated suite fails: fix it first")
            return 2
        killed = 0
        for mutant in chosen:
            path = tree / mutant.file
            original = path.read_text()
            if original.count(mutant.old) != 1:
                print(f"{mutant.name}: the snippet occurs {original.count(mutant.old)} times")
                return 2
            path.write_text(original.replace(mutant.old, mutant.new))
            start = time.perf_counter()
            caught = not run_suite(tree, timeout=900)
            path.write_text(original)
            killed += caught
            verdict = "killed" if caught else "SURVIVED"
            print(f"{verdict:8} {time.perf_counter() - start:6.1f} s  {mutant.name}: {mutant.what}")
            sys.stdout.flush()
    print(f"\n{killed} of {len(chosen)} mutants killed")
    return 0 if killed == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
