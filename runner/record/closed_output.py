"""When nobody reads a run's output any more (a closed terminal, `robo run … | head`): the run goes on, quietly."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO


@contextmanager
def output_may_be_closed() -> Iterator[None]:
    """What follows a run is said if someone still reads; a closed pipe changes nothing, not even the exit code."""
    try:
        yield
    except OSError as exc:
        if not is_closed_output(exc):
            raise
        silence_closed_output(sys.stdout)
        silence_closed_output(sys.stderr)


def is_closed_output(exc: BaseException) -> bool:
    """Whether writing failed because nobody reads the output any more (a closed pipe or terminal)."""
    import errno

    return isinstance(exc, ValueError) or (
        isinstance(exc, OSError) and exc.errno in (errno.EPIPE, errno.EIO, errno.ECONNRESET, errno.EBADF)
    )


def silence_closed_output(stream: IO[str]) -> None:
    """Send what is still written to `stream` (and buffered in it) to the null device.

    Without it, the interpreter's last flush of a closed stdout or stderr fails at exit and turns the process's
    exit code into 120, whatever the run's status was.
    """
    try:
        target = stream.fileno()
    except (OSError, ValueError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, target)
    finally:
        os.close(null)
