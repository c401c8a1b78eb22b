"""Exceptions that the library raises and the CLI turns into one line on stderr."""


class WdcliError(Exception):
    """A problem with the user's input; the CLI prints it and exits with `exit_code`."""

    exit_code = 2


class ConfigError(WdcliError):
    """The config file or an override is wrong."""


class DataError(WdcliError):
    """A dataset cannot be built or read."""


class ResultsError(WdcliError):
    """A results file or journal cannot be read, or would be overwritten."""


class ExecutorError(WdcliError):
    """An executor cannot run (e.g. the Dask scheduler is unreachable)."""
