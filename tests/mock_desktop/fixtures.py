"""Pytest fixtures: one Xvfb per test session, and a fresh legacy client on it for each test that asks.

`tests/conftest.py` imports them. Fixtures:

- `xvfb_display` (session): a running Xvfb through PyVirtualDisplay (`DisplayInfo`: name such as ":7",
  1280 × 1024), on a free display number, set as DISPLAY for the session; skipped (failed under CI) when Xvfb or
  xdotool is missing. The desktop robot's tests and the client's share it.
- `mock_desktop` (function): the client started as its own process on that display with an empty SQLite file,
  once its login window is visible (`MockDesktop`); stopped after the test.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import ImageGrab

from runner.run import VIRTUAL_SCREEN, virtual_display

from .case_store import StoredCase, read_cases
from .client import LOGIN_TITLE
from .xdotool import Xdotool

CLIENT_START_TIMEOUT = 20.0
SCREEN = VIRTUAL_SCREEN


@dataclass(frozen=True)
class DisplayInfo:
    """A running X display: its name for DISPLAY (":7") and its screen size."""

    name: str
    width: int
    height: int


@dataclass
class MockDesktop:
    """A running legacy client: its process, display, database, and an xdotool on its display."""

    process: subprocess.Popen[bytes]
    display: DisplayInfo
    database: Path
    xdotool: Xdotool
    login_window: str

    def cases(self) -> list[StoredCase]:
        """The records the client has written so far."""
        return read_cases(self.database)


def client_command(database: Path, display: str) -> list[str]:
    """The command that starts the client, as a robot's `launch` would run it."""
    return [sys.executable, "-m", "tests.mock_desktop", "--db", str(database), "--display", display]


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[DisplayInfo]:
    """One Xvfb for the whole session."""
    missing = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
    if importlib.util.find_spec("_tkinter") is None:
        missing.append("Tk for this Python (Debian: python3-tk)")
    if missing:
        message = f"{' and '.join(missing)} not installed here: run 'make sysdeps'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with virtual_display(True) as name:  # the one `robo run --virtual-display` starts: DISPLAY set meanwhile
        assert name is not None
        yield DisplayInfo(name, *SCREEN)


@pytest.fixture
def mock_desktop(
    xvfb_display: DisplayInfo, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[MockDesktop]:
    """The legacy client, started on the session's display with an empty database, its login window shown.

    When the test fails, the screen as it was is saved to `screen-at-failure.png` in the test's tmp_path.
    """
    database = tmp_path / "dossiers.sqlite"
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(client_command(database, xvfb_display.name), cwd=root)
    failed_before = request.session.testsfailed
    try:
        xdotool = Xdotool(xvfb_display.name)
        window = xdotool.wait_for_window(LOGIN_TITLE, timeout=CLIENT_START_TIMEOUT)
        yield MockDesktop(process, xvfb_display, database, xdotool, window)
        if request.session.testsfailed > failed_before:
            shot = tmp_path / "screen-at-failure.png"
            ImageGrab.grab(xdisplay=xvfb_display.name).save(shot)
            print(f"the screen when the test failed: {shot}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
