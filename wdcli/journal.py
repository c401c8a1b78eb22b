"""The journal: one JSON line per finished run, fsync'd, so that a crash loses nothing.

The first line is a header naming the config (and its hash); every further line is one run.
A torn last line (a crash in the middle of a write) is ignored when the journal is read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from wdcli.errors import ResultsError

JOURNAL_SUFFIX = ".journal.jsonl"


def journal_path(results_path: Path) -> Path:
    """The journal beside a results file: x.json -> x.journal.jsonl."""
    return results_path.with_name(results_path.name.removesuffix(".json") + JOURNAL_SUFFIX)


@dataclass
class JournalContents:
    header: dict
    runs: list[dict] = field(default_factory=list)


def read_journal(path: Path) -> JournalContents:
    """Read a journal; a torn last line is dropped, a damaged earlier line is an error."""
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read the journal: {exc.strerror}") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            if number == len(lines) or all(not rest.strip() for rest in lines[number:]):
                break  # the last line was torn by a crash: that run is simply re-run
            raise ResultsError(f"{path}: line {number} is not valid JSON") from None
    if not records or records[0].get("kind") != "header":
        raise ResultsError(f"{path}: not a wdcli journal (no header line)")
    return JournalContents(records[0], [r["run"] for r in records[1:] if r.get("kind") == "run"])


class Journal:
    """An open journal: `append` writes a run and fsyncs before returning."""

    def __init__(self, path: Path, handle):
        self.path = path
        self._handle = handle

    @classmethod
    def create(cls, path: Path, header: dict, exclusive: bool = True) -> Journal:
        """Start a new journal; with `exclusive`, fail if the file exists (FileExistsError)."""
        flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
        fd = os.open(path, flags, 0o644)
        journal = cls(path, os.fdopen(fd, "ab"))
        journal._write({"kind": "header", **header})
        return journal

    @classmethod
    def reopen(cls, path: Path) -> Journal:
        """Continue an existing journal, cutting a torn last line first."""
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        handle = open(path, "r+b")  # noqa: SIM115 - closed by close()
        handle.truncate(end)
        handle.seek(end)
        return cls(path, handle)

    def append(self, run: dict) -> None:
        self._write({"kind": "run", "run": run})

    def _write(self, record: dict) -> None:
        self._handle.write(json.dumps(record, allow_nan=False).encode() + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()
