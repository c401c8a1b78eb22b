"""Exceptions that the library raises and the CLI turns into one line on stderr."""

import codecs
import os
import stat
from pathlib import Path


class WdcliError(Exception):
    """A problem with the user's input; the CLI prints it and exits with `exit_code`."""

    exit_code = 2


class ConfigError(WdcliError):
    """The config file or an override is wrong."""


class DataError(WdcliError):
    """A dataset cannot be built or read."""


class ResultsError(WdcliError):
    """A results file or journal cannot be read, or would be overwritten."""


class WriteError(ResultsError):
    """The OS refused a write (no permission, disk full, not a folder); the journal is intact."""


class OutOfMemoryError(WdcliError):
    """Memory ran out while training, although the estimate before the sweep allowed it (it
    is coarse); the journal keeps the runs finished so far."""


class ExecutorError(WdcliError):
    """An executor cannot run (e.g. the Dask scheduler is unreachable)."""


MB = 2**20
LIMITS = {"config file": 10 * MB, "results file": 2048 * MB, "CSV file": 1024 * MB}


def read_text(path: Path, error: type[WdcliError], kind: str, limit: int | None = None) -> str:
    """The text of a file, or `error` in one line: no such file, a folder, not a regular file
    (a device or a pipe would be read forever), larger than `limit` bytes (by default the
    kind's entry in LIMITS), unreadable, not UTF-8. A byte order mark is dropped (and one of
    UTF-16 read as such)."""
    limit = limit if limit is not None else LIMITS.get(kind, 2048 * MB)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: is not a regular file (a device, pipe or socket), not a {kind}")
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)  # st_size can lie (/proc): read at most limit + 1
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {kind}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise error(f"{path}: larger than {_size(limit)}, too large for a {kind}")
    try:
        if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # (before UTF-16's,
            return data.decode("utf-32")  # which UTF-32-LE's begins with)
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")  # Excel's "Unicode text"
        if b"\x00" in data:  # valid UTF-8, yet no text holds it: "1 fields" on every line
            raise error(_nul_message(path, data))
        return data.decode("utf-8-sig")
    except UnicodeError as exc:
        start = getattr(exc, "start", 0) + (3 if data.startswith(codecs.BOM_UTF8) else 0)
        ends = b"\n" if b"\n" in data else b"\r"  # old Mac files end their lines with CR
        line = data[:start].count(ends) + 1
        raise error(
            f"{path}: line {line}: is not UTF-8 text (byte {start + 1}: {data[start : start + 1]!r})"
            "; save it as UTF-8"
        ) from None


def _nul_message(path: Path, data: bytes) -> str:
    """Where a file's first NUL byte is, and what a file of them likely is: UTF-16 or UTF-32
    text without a byte order mark has one after (or before) every ASCII character."""
    start = data.index(b"\x00")
    line = data[:start].count(b"\n" if b"\n" in data else b"\r") + 1
    wide = max(data[1::2].count(0), data[::2].count(0)) > 0.9 * len(data) / 2
    what = "UTF-16 or UTF-32 text without a byte order mark" if wide else "not text"
    return f"{path}: line {line}: holds a NUL byte (byte {start + 1}): {what}; save it as UTF-8"


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**30:g} GB" if nbytes >= 2**30 else f"{nbytes / MB:g} MB"
