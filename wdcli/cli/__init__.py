"""The command line (app.py); `init`'s starter configs, `list`'s tables and signal handling
beside it."""

from wdcli.cli.app import app, main, make_executor

__all__ = ["app", "main", "make_executor"]
