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

import signal
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
    _State.stopping = True
    raise Interrupted(signum)


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
        _State.stopping = True
        raise Interrupted(signum)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise Interrupted (main thread only;
    elsewhere Python cannot install handlers and the block runs unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        sig: signal.signal(sig, _raise)
        for sig in STOP_SIGNALS
        if sig == signal.SIGINT or signal.getsignal(sig) is not signal.SIG_IGN
    }
    _State.stopping, _State.waiting = False, []
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
