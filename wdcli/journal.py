"""The journal: one JSON line per finished run, fsync'd, so that a crash loses nothing.

The first line is a header naming the config (and its hash); every further line is one run.
A torn last line (a crash in the middle of a write) is ignored when the journal is read.
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from wdcli.errors import ResultsError

try:
    import fcntl
except ImportError:  # Windows: no flock; journals are then not guarded against a second sweep
    fcntl = None

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


def in_use_error(path: Path) -> ResultsError:
    return ResultsError(
        f"{path}: another sweep is using this journal; wait for it to finish, or stop it and "
        "run again with --resume"
    )


def _lock(handle, path: Path) -> None:
    """Lock an open journal for this process (flock: the OS drops it when the process ends,
    however it ends), or close it and raise when another sweep holds it."""
    if fcntl is None:
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
            return  # a file system without locks (some network mounts): go on unguarded
        handle.close()
        raise in_use_error(path) from None
    try:  # the holder may have finished (removed the journal) while this one waited to open it
        same = os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except FileNotFoundError:
        same = False
    if not same:
        handle.close()
        raise ResultsError(f"{path}: another sweep finished this journal meanwhile")


def ensure_free(path: Path) -> None:
    """Raise in_use_error when a running sweep holds the journal at path."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError:
        return
    with handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                raise in_use_error(path) from None
            except OSError:
                pass


class Journal:
    """An open journal, locked against other sweeps: `append` writes a run and fsyncs before
    returning. The lock lasts until `close` (or this process's end)."""

    def __init__(self, path: Path, handle):
        self.path = path
        self._handle = handle

    @classmethod
    def create(cls, path: Path, header: dict, exclusive: bool = True) -> Journal:
        """Start a new journal; with `exclusive`, fail if the file exists (FileExistsError).
        Without, an existing journal is emptied, unless another sweep uses it."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | (os.O_EXCL if exclusive else 0), 0o644)
        handle = os.fdopen(fd, "r+b")
        _lock(handle, path)
        handle.truncate(0)
        journal = cls(path, handle)
        journal._write({"kind": "header", **header})
        return journal

    @classmethod
    def open_locked(cls, path: Path) -> Journal:
        """Open an existing journal for this sweep alone, changing nothing yet."""
        try:
            handle = open(path, "r+b")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise ResultsError(f"{path}: cannot open the journal: {exc.strerror}") from None
        _lock(handle, path)
        return cls(path, handle)

    @classmethod
    def reopen(cls, path: Path) -> Journal:
        """Continue an existing journal, cutting a torn last line first."""
        journal = cls.open_locked(path)
        journal.cut_torn_line()
        return journal

    def cut_torn_line(self) -> None:
        """Drop a last line torn by a crash, and append after what remains."""
        self._handle.seek(0)
        end = self._handle.read().rfind(b"\n") + 1
        self._handle.truncate(end)
        self._handle.seek(end)

    def append(self, run: dict) -> None:
        self._write({"kind": "run", "run": run})

    def _write(self, record: dict) -> None:
        self._handle.write(json.dumps(record, allow_nan=False).encode() + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()
