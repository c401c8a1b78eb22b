"""Exceptions that the library raises and the CLI turns into one line on stderr."""

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


class ExecutorError(WdcliError):
    """An executor cannot run (e.g. the Dask scheduler is unreachable)."""


def read_text(path: Path, error: type[WdcliError], kind: str) -> str:
    """The text of a file, or `error` in one line: no such file, a folder, unreadable."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {kind}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
