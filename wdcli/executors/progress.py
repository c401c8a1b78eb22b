"""Progress inside the units of a sweep (step, best test accuracy so far), for a terminal.

The parent process `listen`s with a callback; training reports each evaluation through
`evaluation_hook`, at most a few times a second. In the parent's own process (the serial
executor) the callback is called directly; worker processes (the processes executor) send
their events through a queue of a manager process, which a thread of the parent hands to
the callback. Nothing is set up, and nothing is sent, when nobody listens (pipes, --quiet,
Dask). Events are dicts: {unit, step, steps, best, best_lambda, metric, done}; `unit` names
the work unit and what a step is ('seed 0 · λ 0…0.3 · step').
"""

from __future__ import annotations

import itertools
import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager

INTERVAL = 0.25  # seconds between two events of one unit (the last one is always sent)

_sink: Callable[[dict], None] | None = None  # where this process's events go
_listener: _Listener | None = None  # in the parent, while a sweep is watched


def evaluation_hook(seed: int, lambdas: Sequence[float], unit_of_time: str = "epoch"):
    """A model's on_eval callback reporting the unit's epoch (or step, for full batches) and
    best test accuracy (or loss) so far; None when nobody listens."""
    sink = _sink
    if sink is None:
        return None
    label = f"seed {seed} · λ " + (
        _fmt(lambdas[0]) if len(lambdas) == 1 else f"{_fmt(lambdas[0])}…{_fmt(lambdas[-1])}"
    )
    label += f" · {unit_of_time}"
    state = {"best": None, "best_lambda": None, "sent": 0.0}

    def hook(step, steps, test_loss, test_accuracy) -> None:
        metric = "acc" if test_accuracy is not None else "loss"
        values = test_accuracy if test_accuracy is not None else -test_loss
        for lam, value in zip(itertools.cycle(lambdas), values):  # stacked lrs repeat λ
            if math.isfinite(value) and (state["best"] is None or value > state["best"]):
                state["best"], state["best_lambda"] = float(value), lam
        now = time.monotonic()
        if now - state["sent"] < INTERVAL and step < steps:  # type: ignore[operator]
            return
        state["sent"] = now
        best = state["best"]
        sink({
            "unit": label, "step": int(step), "steps": int(steps), "metric": metric,
            "best": None if best is None else (best if metric == "acc" else -best),
            "best_lambda": state["best_lambda"], "done": step >= steps,
        })  # fmt: skip

    return hook


def _fmt(lam: float) -> str:
    return "0" if lam == 0 else f"{lam:.3g}"


def describe(event: dict) -> str:
    """'best test acc 0.862 (λ 1)' for an event."""
    if event["best"] is None:
        return ""
    return f"best test {event['metric']} {event['best']:.4g} (λ {_fmt(event['best_lambda'])})"


# --------------------------------------------------------------------------- the parent


class _Listener:
    def __init__(self, callback: Callable[[dict], None]):
        self.callback = callback
        self.lock = threading.Lock()
        self.manager = self.queue = self.thread = None

    def remote(self):
        """A queue that worker processes can put events into (started on first use)."""
        with self.lock:
            if self.queue is None:
                from multiprocessing.managers import SyncManager

                self.manager = SyncManager()
                self.manager.start(_ignore_interrupts)
                self.queue = self.manager.Queue()
                self.thread = threading.Thread(target=self._drain, daemon=True)
                self.thread.start()
            return self.queue

    def _drain(self) -> None:
        while True:
            try:
                event = self.queue.get()  # type: ignore[attr-defined]
            except (EOFError, OSError):  # the manager has gone
                return
            if event is None:
                return
            self.callback(event)

    def close(self) -> None:
        if self.queue is not None:
            try:
                self.queue.put(None)
                self.thread.join(timeout=2)
            except (EOFError, OSError):
                pass
            self.manager.shutdown()


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


@contextmanager
def listen(callback: Callable[[dict], None]):
    """Call `callback(event)` for every unit's progress while the block runs."""
    global _sink, _listener
    _sink, _listener = callback, _Listener(callback)
    try:
        yield
    finally:
        listener, _sink, _listener = _listener, None, None
        listener.close()


def forwarded(fn: Callable) -> Callable:
    """`fn` as a worker process should run it: reporting into the listener's queue, when
    someone listens (else `fn` itself)."""
    if _listener is None:
        return fn
    return _Forward(fn, _listener.remote())


class _Forward:
    """A picklable fn(*args) that sends the progress of its work to a queue."""

    def __init__(self, fn: Callable, queue):
        self.fn, self.queue = fn, queue

    def __call__(self, *args):
        global _sink
        _sink = self._put
        try:
            return self.fn(*args)
        finally:
            _sink = None

    def _put(self, event: dict) -> None:
        try:
            self.queue.put_nowait(event)
        except Exception:  # noqa: BLE001 - progress must never stop the training
            pass
