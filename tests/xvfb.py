"""One virtual X display (Xvfb, through PyVirtualDisplay) for the tests of a pytest worker, on a free display number."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

SCREEN = (1280, 1024)


@pytest.fixture(scope="session")
def x_display() -> Iterator[str]:
    """DISPLAY of an Xvfb screen of `SCREEN` pixels, set in the environment for the session, then restored."""
    from pyvirtualdisplay.display import Display

    previous = os.environ.get("DISPLAY")
    # -noreset: Xvfb would otherwise reset (dropping the connections being opened) whenever its last client leaves.
    screen = Display(visible=False, size=SCREEN, color_depth=24, extra_args=["-noreset"])
    screen.start()
    os.environ["DISPLAY"] = screen.new_display_var
    try:
        yield screen.new_display_var
    finally:
        screen.stop()
        if previous is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = previous
