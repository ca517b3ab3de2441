"""SIGINT and SIGTERM during a run: the first stops it after its current step, a second SIGINT at once."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from robots.kit import _
from runner.engine import Cancellation


@contextmanager
def stop_on_signals(
    stop_event: threading.Event, cancellation: Cancellation, note: Callable[[str], None], *, enabled: bool
) -> Iterator[None]:
    """SIGINT or SIGTERM asks the run to stop after its current step; a second SIGINT cancels that step at once.

    The Python handlers do nothing: the signal's number also goes to a wake-up socket, which a watcher thread
    reads and acts on. Acting inside a handler would run in the middle of whatever the main thread was doing:
    an exception raised there unwinds the run from any point, and setting an event there can deadlock with a
    wait on that event.
    """
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    previous = {signum: signal.signal(signum, _noted_elsewhere) for signum in (signal.SIGINT, signal.SIGTERM)}
    watcher = threading.Thread(
        target=_watch_signals, args=(reader, stop_event, cancellation, note), name="signals", daemon=True
    )
    watcher.start()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(previous_fd)
        try:
            writer.send(b"\0")  # not a signal: the watcher's cue to end
        except OSError:
            pass
        watcher.join(5)
        reader.close()
        writer.close()


def _noted_elsewhere(_signum: int, _frame: Any) -> None:
    """The handler of SIGINT and SIGTERM during a run: the wake-up socket carries the signal to the watcher."""


def _watch_signals(
    reader: socket.socket,
    stop_event: threading.Event,
    cancellation: Cancellation,
    note: Callable[[str], None],
) -> None:
    received = 0
    while True:
        try:
            data = reader.recv(64)
        except OSError:
            return
        for signum in data:
            if signum == 0:
                return
            received += 1
            message = None
            if received == 1:
                stop_event.set()
                message = _(
                    "{signal} received: the run stops after its current step"
                    " (interrupt again, e.g. Ctrl+C, to stop at once)"
                ).format(signal=signal.Signals(signum).name)
            elif signum == signal.SIGINT and not cancellation.is_set():
                stop_event.set()
                cancellation.cancel()
                message = _(
                    "second interrupt: the current step is abandoned; its item is checked when the run resumes"
                )
            if message:
                try:
                    note(message)
                except Exception:  # a sink that cannot take the note must not stop the watching
                    pass
        if not data:
            return
