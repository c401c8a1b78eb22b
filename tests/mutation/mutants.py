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

# Files wdcli reads, write errors, compare --direction.
MUTANTS += [
    Mutant(
        "records-lax",
        "wdcli/records.py",
        'model_config = ConfigDict(strict=True, extra="allow"',
        'model_config = ConfigDict(strict=False, extra="allow"',
        "results files read without strict types: '1.5' passes as a number",
    ),
    Mutant(
        "records-nan-kept",
        "wdcli/records.py",
        "return value if value is None or math.isfinite(value) else None",
        "return value",
        "a NaN in a results file is kept as NaN (and compares as 'ok')",
    ),
    Mutant(
        "journal-foreign-runs",
        "wdcli/journal.py",
        'if entry.config_hash is not None and entry.config_hash != header["config_hash"]:',
        "if False:",
        "a journal accepts run lines of another config",
    ),
    Mutant(
        "resume-off-grid",
        "wdcli/store.py",
        'if key not in wanted or run.get("point") or run.get("fold"):',
        "if False:",
        "resume silently accepts runs that the config does not have",
    ),
    Mutant(
        "resume-mixed-data",
        "wdcli/store.py",
        "    if found != first:",
        "    if False:",
        "resume accepts runs of one seed trained on different data",
    ),
    Mutant(
        "journal-oserror-escapes",
        "wdcli/journal.py",
        "            raise _write_error(self.path, exc) from None",
        "            raise",
        "a full disk while journalling ends in a traceback",
    ),
    Mutant(
        "compare-either-blind",
        "wdcli/compare.py",
        '"either": {"worse", "better", "changed", "missing", "new"},',
        '"either": {"worse", "missing"},',
        "compare --direction either passes a 99 % 'better' candidate",
    ),
    Mutant(
        "compare-status-ignored",
        "wdcli/compare.py",
        "if ok_b != ok_a:",
        "if False:",
        "compare passes a row where a run now diverges",
    ),
]

from health_mutants import HEALTH_MUTANTS  # noqa: E402

MUTANTS += HEALTH_MUTANTS
