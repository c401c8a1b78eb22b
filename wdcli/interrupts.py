"""Signals that stop a command: Ctrl-C, `timeout`/CI cancellation and a closed terminal.

SIGINT, SIGTERM and SIGHUP all raise `Interrupted` (a KeyboardInterrupt) in the main thread,
so that a sweep stops the way Ctrl-C stops it: executors stop their workers in their
`finally`, the journal is closed, and the command prints how to resume and exits 128 + the
signal (130, 143, 129). Without this, SIGTERM and SIGHUP end Python at once, skipping all
cleanup, and the worker processes live on.

SIGINT is caught even when the command inherited it ignored (a shell ignores it for its
background jobs, `wdcli sweep … &` or `pytest &` in a script, without being asked to):
`kill -INT` must stop a sweep wherever it runs. SIGTERM and SIGHUP stay ignored when they
were, since someone asked for that: `nohup wdcli sweep …` must survive the terminal closing.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived; `exit_code` is 128 + its number, as a shell reports it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def exit_code(exc: KeyboardInterrupt) -> int:
    """128 + the signal that raised exc (a plain KeyboardInterrupt is SIGINT's 130)."""
    return getattr(exc, "exit_code", 128 + signal.SIGINT)


class _State:
    stopping = False  # a signal was raised: the cleanup is under way
    signum = 0  # the signal that was
    deferring = 0  # depth of `deferred()` blocks
    waiting: list[int] = []  # signals that arrived inside one


def _raise(signum: int, frame) -> None:
    # The first signal starts the cleanup; later ones (a second Ctrl-C, `timeout`'s SIGTERM
    # after CI's SIGINT) must not interrupt it halfway. They are dropped here rather than by
    # SIG_IGN, which would make Python complain of signals that were already on their way.
    if _State.stopping:
        return
    if _State.deferring:
        _State.waiting.append(signum)
        return
    _State.stopping, _State.signum = True, signum
    raise Interrupted(signum)


def check() -> None:
    """Raise again a stop signal whose Interrupted was swallowed: raised inside a finaliser
    or an import lock's callback, Python prints "Exception ignored" and drops it, and the
    sweep ran on to exit 0 (a SIGINT while its modules loaded). For the main flow's
    checkpoints, never for its cleanup."""
    if _State.stopping and _State.signum:
        raise Interrupted(_State.signum)


@contextmanager
def deferred() -> Iterator[None]:
    """A signal arriving inside the block is raised when the block ends: for short steps that
    must not be cut halfway (creating a journal and saying where it is)."""
    _State.deferring += 1
    try:
        yield
    finally:
        _State.deferring -= 1
    if not _State.deferring and _State.waiting and not _State.stopping:
        signum = _State.waiting[0]
        _State.waiting.clear()
        _State.stopping, _State.signum = True, signum
        raise Interrupted(signum)


def _said(signum: int) -> str:
    return (
        "interrupted"
        if signum == signal.SIGINT
        else f"interrupted by {signal.Signals(signum).name}"
    )


def _exit(signum: int, frame) -> None:
    if _State.stopping:  # a sweep already stopped on a signal: its message and code stand
        return
    sys.stderr.write(_said(signum) + "\n")
    raise SystemExit(128 + signum)


def _exit_now(signum: int, frame) -> None:
    sys.stderr.write(_said(signum) + "\n")
    sys.stderr.flush()
    os._exit(128 + signum)  # nothing to clean up yet; an exception could be swallowed


@contextmanager
def exit_on_signals(now: bool = False) -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP end the process with one line and 128 +
    the signal: around a command (`stop_on_signals` takes over inside a sweep), and, with
    `now`, while the command line loads, where nothing needs cleaning up. A signal sent then
    was lost (SIGINT inherited ignored), or printed a KeyboardInterrupt traceback from inside
    an import, or "Aborted!" and exit 1. Ignored signals are treated as `stop_on_signals`
    treats them."""
    previous = _install(_exit_now if now else _exit)
    _State.stopping = False  # a command of its own (one process may run several: tests)
    try:
        yield
    finally:
        _restore(previous)


def deaf_if_stopped() -> None:
    """After a stop signal was handled, ignore the stop signals for the rest of the process:
    it is exiting with that signal's code and message, and a second signal in its last moments
    (SIGTERM 0.2 s after a Ctrl-C, while worker pools shut down) killed it with its own code
    (143 after "interrupted")."""
    if _State.stopping and threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def _install(handler) -> dict:
    """Install handler for the stop signals (SIGINT always; SIGTERM and SIGHUP unless they
    were ignored), in the main thread; the previous handlers, to restore."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {
        sig: signal.signal(sig, handler)
        for sig in STOP_SIGNALS
        if sig == signal.SIGINT or signal.getsignal(sig) is not signal.SIG_IGN
    }


def _restore(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise Interrupted (main thread only;
    elsewhere Python cannot install handlers and the block runs unchanged)."""
    previous = _install(_raise)
    _State.stopping, _State.signum, _State.waiting = False, 0, []
    try:
        yield
    finally:
        _restore(previous)
