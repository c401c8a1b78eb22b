"""The journal: one JSON line per finished run, fsync'd, so that a crash loses nothing.

The first line is a header naming the config (and its hash); every further line is one run,
with its config's hash. A torn last line (a crash in the middle of a write) is ignored when
the journal is read; any other damaged line, a second header (another journal appended) or a
run of another config is an error naming the line and the field.
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from wdcli.errors import ResultsError, WriteError
from wdcli.records import JournalHeader, JournalRun, parse, shown

try:
    import fcntl
except ImportError:  # Windows: no flock; journals are then not guarded against a second sweep
    fcntl = None  # type: ignore[assignment]

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
    if entry.config_hash is not None and entry.config_hash != header["config_hash"]:  # type: ignore[attr-defined]
        raise ResultsError(
            f"{where}: config_hash: a run of another config ({entry.config_hash}; "  # type: ignore[attr-defined]
            f"the header's is {header['config_hash']})"
        )
    return entry.run.model_dump(by_alias=True, exclude_unset=True)  # type: ignore[attr-defined]


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
    returning. The lock lasts until `close` (or this process's end).

    Writes go straight to the file descriptor, so an OS error (disk full) leaves at most a
    torn last line, which reading drops; it is raised as a WriteError naming the journal.
    """

    def __init__(self, path: Path, handle, config_hash: str | None = None):
        self.path = path
        self.config_hash = config_hash  # written on every run line
        self._handle = handle

    @classmethod
    def create(cls, path: Path, header: dict, exclusive: bool = True) -> Journal:
        """Start a new journal; with `exclusive`, fail if the file exists (FileExistsError).
        Without, an existing journal is emptied, unless another sweep uses it."""
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | (os.O_EXCL if exclusive else 0), 0o644)
        except FileExistsError:
            raise  # the name is taken: the caller picks another
        except OSError as exc:
            raise _write_error(path, exc) from None
        handle = os.fdopen(fd, "r+b")
        _lock(handle, path)
        journal = cls(path, handle, header.get("config_hash"))
        try:
            try:
                if os.fstat(fd).st_size:  # (an empty one, or a device, is left alone)
                    handle.truncate(0)
            except OSError as exc:
                raise _write_error(path, exc) from None
            journal._write({"kind": "header", **header})
        except WriteError:
            journal.close()
            path.unlink(missing_ok=True)  # it held nothing yet
            raise
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
    def reopen(cls, path: Path, config_hash: str | None = None) -> Journal:
        """Continue an existing journal, cutting a torn last line first."""
        journal = cls.open_locked(path)
        journal.config_hash = config_hash
        journal.cut_torn_line()
        return journal

    def cut_torn_line(self) -> None:
        """Drop a last line torn by a crash, and append after what remains."""
        try:
            self._handle.seek(0)
            end = self._handle.read().rfind(b"\n") + 1
            self._handle.truncate(end)
            self._handle.seek(end)
        except OSError as exc:
            raise _write_error(self.path, exc) from None

    def append(self, run: dict) -> None:
        record = {"kind": "run", "config_hash": self.config_hash, "run": run}
        if self.config_hash is None:
            del record["config_hash"]
        self._write(record)

    def _write(self, record: dict) -> None:
        data = memoryview(json.dumps(record, allow_nan=False).encode() + b"\n")
        try:
            while data:
                data = data[os.write(self._handle.fileno(), data) :]
            os.fsync(self._handle.fileno())
        except OSError as exc:
            raise _write_error(self.path, exc) from None

    def close(self) -> None:
        self._handle.close()


def _write_error(path: Path, exc: OSError) -> WriteError:
    return WriteError(f"{path}: cannot write: {exc.strerror or exc}")
