"""The journal: one JSON line per finished run, fsync'd, so that a crash loses nothing.

The first line is a header naming the config (and its hash); every further line is one run,
with its config's hash. A torn last line (a crash in the middle of a write) is ignored when
the journal is read; any other damaged line, a second header (another journal appended) or a
run of another config is an error naming the line and the field.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from wdcli.errors import ResultsError, WriteError
from wdcli.records import JournalHeader, JournalRun, parse, shown

JOURNAL_SUFFIX = ".journal.jsonl"


def journal_path(results_path: Path) -> Path:
    """The journal beside a results file: x.json -> x.journal.jsonl."""
    return results_path.with_name(results_path.name.removesuffix(".json") + JOURNAL_SUFFIX)


@dataclass
class JournalContents:
    header: dict
    runs: list[dict] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the line number of each run


def read_journal(path: Path) -> JournalContents:
    """Read and check a journal; a torn last line is dropped, anything else wrong is an error."""
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read the journal: {exc.strerror}") from None
    contents = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            if all(not rest.strip() for rest in lines[number:]):
                break  # the last line was torn by a crash: that run is simply re-run
            raise ResultsError(f"{path}: line {number}: not valid JSON") from None
        where = f"{path}: line {number}"
        if contents is None:
            contents = JournalContents(_header(record, path, where))
        else:
            run = _run(record, contents.header, where)
            contents.runs.append(run)
            contents.lines.append(number)
    if contents is None:
        raise ResultsError(f"{path}: not a wdcli journal (no header line)")
    return contents


def read_header(path: Path) -> dict | None:
    """The checked header of a journal (its first line) alone; None if it was torn at birth."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read the journal: {exc.strerror}") from None
    try:
        record = json.loads(first)
    except (ValueError, RecursionError):
        if first.endswith(b"\n"):
            raise ResultsError(f"{path}: line 1: not valid JSON") from None
        return None  # a crash while the header was written: nothing to resume
    return _header(record, path, f"{path}: line 1")


def _header(record, path: Path, where: str) -> dict:
    if not isinstance(record, dict) or record.get("kind") != "header":
        raise ResultsError(f"{where}: not a wdcli journal (the first line is not a header)")
    try:
        return parse(JournalHeader, record, where).model_dump(exclude_unset=True)
    except ValueError as exc:
        raise ResultsError(str(exc)) from None


def _run(record, header: dict, where: str) -> dict:
    if not isinstance(record, dict):
        raise ResultsError(f"{where}: expected an object, got {shown(record)}")
    if record.get("kind") == "header":
        raise ResultsError(f"{where}: a second header (another sweep's journal appended here?)")
    try:
        entry = parse(JournalRun, record, where)
    except ValueError as exc:
        raise ResultsError(str(exc)) from None
    if entry.config_hash is not None and entry.config_hash != header["config_hash"]:
        raise ResultsError(
            f"{where}: config_hash: a run of another config ({entry.config_hash}; "
            f"the header's is {header['config_hash']})"
        )
    return entry.run.model_dump(by_alias=True, exclude_unset=True)


class Journal:
    """An open journal: `append` writes a run and fsyncs before returning.

    Writes go straight to the file descriptor, so an OS error (disk full) leaves at most a
    torn last line, which reading drops; it is raised as a WriteError naming the journal.
    """

    def __init__(self, path: Path, fd: int, config_hash: str | None = None):
        self.path = path
        self.config_hash = config_hash
        self._fd = fd

    @classmethod
    def create(cls, path: Path, header: dict, exclusive: bool = True) -> Journal:
        """Start a new journal; with `exclusive`, fail if the file exists (FileExistsError)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_EXCL if exclusive else os.O_TRUNC)
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:
            raise  # the name is taken: the caller picks another
        except OSError as exc:
            raise _write_error(path, exc) from None
        journal = cls(path, fd, header.get("config_hash"))
        try:
            journal._write({"kind": "header", **header})
        except WriteError:
            journal.close()
            path.unlink(missing_ok=True)  # it held nothing yet
            raise
        return journal

    @classmethod
    def reopen(cls, path: Path, config_hash: str | None = None) -> Journal:
        """Continue an existing journal, cutting a torn last line first."""
        try:
            data = path.read_bytes()
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            os.ftruncate(fd, data.rfind(b"\n") + 1)
        except OSError as exc:
            raise _write_error(path, exc) from None
        return cls(path, fd, config_hash)

    def append(self, run: dict) -> None:
        record = {"kind": "run", "config_hash": self.config_hash, "run": run}
        if self.config_hash is None:
            del record["config_hash"]
        self._write(record)

    def _write(self, record: dict) -> None:
        data = memoryview(json.dumps(record, allow_nan=False).encode() + b"\n")
        try:
            while data:
                data = data[os.write(self._fd, data) :]
            os.fsync(self._fd)
        except OSError as exc:
            raise _write_error(self.path, exc) from None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _write_error(path: Path, exc: OSError) -> WriteError:
    return WriteError(f"{path}: cannot write: {exc.strerror or exc}")
