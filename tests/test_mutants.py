"""The mutation check's bugs still apply: each mutant's snippet occurs exactly once in its
file, so a refactor cannot silently retire a mutant (the mutation run would stop at it). Only
running the mutants shows one that moved onto other code (docs/mutation.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "mutation"))
from mutants import MUTANTS  # noqa: E402


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_each_mutant_applies_to_exactly_one_place(mutant):
    text = (ROOT / mutant.file).read_text()
    assert text.count(mutant.old) == 1, f"{mutant.name}: its snippet is no longer in {mutant.file}"
    assert mutant.new != mutant.old


def test_mutant_names_are_unique():
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names))
