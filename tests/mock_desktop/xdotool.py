"""Driving X windows from a test with xdotool: find a window by its title, type, press keys, click.

This is how the tests check the legacy client on its own, independent of the desktop robot.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from tests.waiting import wait_until


@dataclass(frozen=True)
class Geometry:
    """Where a window is on the screen, in pixels."""

    x: int
    y: int
    width: int
    height: int


class Xdotool:
    """xdotool commands on one X display."""

    def __init__(self, display: str) -> None:
        executable = shutil.which("xdotool")
        if executable is None:
            raise FileNotFoundError("xdotool is not installed: apt-get install xdotool")
        self.executable = executable
        self.display = display

    def run(self, *arguments: str) -> str:
        """Run one xdotool command; its standard output."""
        completed = subprocess.run(
            [self.executable, *arguments],
            # A UTF-8 locale, or xdotool refuses any accented character ("Invalid multi-byte sequence").
            env={"DISPLAY": self.display, "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        # `search` exits 1 when nothing matches; every other failure is an error of the test.
        if completed.returncode != 0 and arguments[0] != "search":
            raise RuntimeError(f"xdotool {' '.join(arguments)} failed: {completed.stderr.strip()}")
        return completed.stdout

    def windows(self, title: str) -> list[str]:
        """Ids of the visible windows whose title is exactly `title`."""
        # `search --name` matches WM_NAME, which Tk writes as Latin-1 bytes of its UTF-8 ("—" becomes "â\x80\x94"):
        # non-ASCII characters match anything there, and `getwindowname` (which reads _NET_WM_NAME) decides.
        pattern = "".join(re.escape(char) if char.isascii() else ".*" for char in title)
        found = self.run("search", "--onlyvisible", "--name", f"^{pattern}$").split()
        return [window for window in found if self._name_of(window) == title]

    def _name_of(self, window: str) -> str | None:
        """The window's title, or None when it closed since it was found (a dialog going away: BadWindow)."""
        try:
            return self.run("getwindowname", window).rstrip("\n")
        except RuntimeError as error:
            if "BadWindow" in str(error):
                return None
            raise

    def wait_for_window(self, title: str, timeout: float = 15.0) -> str:
        """Id of the window titled `title`, once it is visible; TimeoutError after `timeout` seconds."""
        found = wait_until(lambda: self.windows(title), timeout=timeout)
        return found[-1]

    def wait_until_closed(self, title: str, timeout: float = 15.0) -> None:
        """Return once no visible window is titled `title`."""
        wait_until(lambda: not self.windows(title), timeout=timeout)

    def geometry(self, window: str) -> Geometry:
        """Position and size of a window."""
        values = dict(
            line.split("=", 1)
            for line in self.run("getwindowgeometry", "--shell", window).splitlines()
            if "=" in line
        )
        return Geometry(int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"]))

    def focus(self, window: str) -> None:
        """Give a window the keyboard (no window manager needed)."""
        self.run("windowfocus", "--sync", window)

    def type(self, text: str) -> None:
        """Type text, accents and capital accented letters included."""
        # `xdotool type` maps a spare key to each character the keyboard lacks, with that one keysym only; X then
        # reads the key unshifted as the lower case letter, so "É" arrives as "é". Such a letter is pressed with
        # shift on its Unicode keysym instead, which X reads as the capital.
        run = ""
        for char in text:
            if char.isascii() or char == char.lower():
                run += char
                continue
            if run:
                self.run("type", "--delay", "20", "--", run)
                run = ""
            self.run("key", f"shift+U{ord(char):04X}")
        if run:
            self.run("type", "--delay", "20", "--", run)

    def key(self, *keys: str) -> None:
        """Press keys one after the other ("Tab", "Return", "ctrl+a")."""
        self.run("key", "--delay", "20", *keys)

    def click_at(self, window: str, relative: tuple[float, float]) -> None:
        """Click at a point given as fractions of the window's width and height."""
        geometry = self.geometry(window)
        x, y = round(geometry.width * relative[0]), round(geometry.height * relative[1])
        # No --sync: it waits for the pointer to move, forever when it is there already; the X server handles the
        # move and the click in order anyway.
        self.run("mousemove", "--window", window, str(x), str(y), "click", "1")
