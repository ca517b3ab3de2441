"""An Xvfb server started for the tests, on a display number it chooses itself (never one already taken)."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass
from types import TracebackType

SCREEN_SIZE = (1280, 1024)


@dataclass(frozen=True)
class DisplayInfo:
    """A running X display: its name for DISPLAY (":7") and its screen size."""

    name: str
    width: int
    height: int


class VirtualDisplay:
    """Xvfb on a free display number (its -displayfd option reports the number it took)."""

    def __init__(self, size: tuple[int, int] = SCREEN_SIZE, start_timeout: float = 20.0) -> None:
        self.size = size
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.info: DisplayInfo | None = None

    def start(self) -> DisplayInfo:
        """Start Xvfb and return once it accepts clients."""
        executable = shutil.which("Xvfb")
        if executable is None:
            raise FileNotFoundError("Xvfb is not installed: run 'make sysdeps' (Debian's xvfb)")
        read_end, write_end = os.pipe()
        try:
            screen = f"{self.size[0]}x{self.size[1]}x24"
            self.process = subprocess.Popen(
                [
                    executable,
                    "-displayfd",
                    str(write_end),
                    "-screen",
                    "0",
                    screen,
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ],
                pass_fds=(write_end,),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            os.close(write_end)
            write_end = -1
            number = self._read_display_number(read_end)
        finally:
            os.close(read_end)
            if write_end != -1:
                os.close(write_end)
        self.info = DisplayInfo(f":{number}", *self.size)
        return self.info

    def _read_display_number(self, read_end: int) -> int:
        # Xvfb writes the number once it listens: reading it is the readiness check, bounded by a deadline.
        deadline = time.monotonic() + self.start_timeout
        received = b""
        while not received.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([read_end], [], [], max(remaining, 0))
            if not ready:
                self.stop()
                raise TimeoutError(f"Xvfb did not start within {self.start_timeout} s")
            chunk = os.read(read_end, 64)
            if not chunk:
                self.stop()
                raise RuntimeError("Xvfb stopped before it reported its display number")
            received += chunk
        return int(received)

    def stop(self) -> None:
        """Stop Xvfb (every client of the display loses it)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> DisplayInfo:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
