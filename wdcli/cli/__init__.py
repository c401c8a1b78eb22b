"""The command line (app.py); `init`'s starter configs, `list`'s tables and signal handling
beside it."""

from wdcli.interrupts import exit_on_signals

with exit_on_signals(now=True):  # a stop signal while the command line loads: one line
    from wdcli.cli.app import app, main, make_executor

__all__ = ["app", "main", "make_executor"]
