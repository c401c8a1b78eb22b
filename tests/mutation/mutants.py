"""The deliberate bugs of the mutation check: (name, file, exact old snippet, new, what)."""

from __future__ import annotations

from typing import NamedTuple


class Mutant(NamedTuple):
    name: str
    file: str
    old: str
    new: str
    what: str


MUTANTS: list[Mutant] = []
