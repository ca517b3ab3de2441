"""Write locks between runs: runs that read, change and write one file take turns (`one_writer`).

The lock is an OS advisory lock (flock, or msvcrt's byte lock on Windows) on a hidden file beside the one
written; the system releases it when its process ends, even killed.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from robots.kit.errors import ApplicationError
from robots.kit.i18n import _

WRITE_LOCK_WAIT = 120.0  # seconds a write waits for another run's write of the same file to end
WRITE_LOCK_SUFFIX = ".robo-lock"


@contextmanager
def one_writer(path: Path, run_id: str | None, robot: str, wait: float | None = None) -> Iterator[None]:
    """Hold `path`'s write lock while the block reads, changes and writes it: runs writing one file take turns.

    The lock is an OS advisory lock (flock) on a hidden `.NAME.robo-lock` file beside `path`, released by the
    system when its process ends, even killed. The holder removes the lock file when it is done; a waiter that
    then gets the lock of a removed file tries again with the new one. A run that finds the lock held waits up
    to `wait` seconds, then fails saying which run writes the file.
    """
    import time

    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(f".{path.name}{WRITE_LOCK_SUFFIX}")
    held = _held_locks.__dict__.setdefault("paths", set())
    if lock_path in held:  # an action that calls another one on the same file already holds it
        yield
        return
    wait = WRITE_LOCK_WAIT if wait is None else wait
    deadline = time.monotonic() + wait
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        if _try_lock(fd):
            if _same_file_as(fd, lock_path):
                break
            os.close(fd)  # the previous holder removed that file after we opened it: lock the current one
            continue
        holder = _holder(fd) or _("another run")
        os.close(fd)
        if time.monotonic() > deadline:
            raise ApplicationError(
                _("{robot}: {holder} is already writing {name}").format(
                    robot=robot, holder=holder, name=path.name
                ),
                hint=_(
                    "runs writing one file take turns; it has held {name} for more than {seconds} s"
                ).format(name=path.name, seconds=f"{wait:g}"),
            )
        time.sleep(0.05)
    held.add(lock_path)
    try:
        with suppress(OSError):
            # Read back in another run's message: written in the words of this one's language.
            os.write(fd, _("run {run} (pid {pid})").format(run=run_id or "?", pid=os.getpid()).encode())
        yield
    finally:
        held.discard(lock_path)
        with suppress(OSError):
            lock_path.unlink()  # while still locked, so that nobody locks this file after us
        os.close(fd)  # which releases the lock


def _holder(fd: int) -> str:
    """Who holds a lock file, as its holder wrote it ("run ID (pid N)"), or "" when it cannot be read."""
    try:
        return os.read(fd, 200).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _same_file_as(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


_held_locks = threading.local()  # the write locks this thread holds

if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
