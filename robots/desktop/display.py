"""The X display the desktop robot works on: pyautogui loaded on first use, and the X tools it calls.

`import pyautogui` fails at import time when DISPLAY is unset (its X11 back end opens the display), so it is
imported only here, once a display is known to be there: importing `robots.desktop` needs no display.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from typing import Any

from robots.kit import N_, ApplicationError, ConfigurationError, _, format_duration

NO_DISPLAY = N_("no X display: set DISPLAY or run under Xvfb; see README")
"""The message of every desktop action run without a display, and of validation (translated where shown)."""


def display_problem() -> str | None:
    """Why the desktop robot cannot work here (no X display), or None."""
    if not os.environ.get("DISPLAY"):
        return _(NO_DISPLAY)
    return None


def no_display_error() -> ConfigurationError | None:
    """The clear `ConfigurationError` to raise when there is no X display, else None."""
    problem = display_problem()
    if problem is None:
        return None
    return ConfigurationError(
        problem, hint=_("run the workflow with `robo run --virtual-display`, or under `xvfb-run`")
    )


def require_display() -> None:
    """Raise the clear `ConfigurationError` when there is no X display."""
    error = no_display_error()
    if error is not None:
        raise error


def load_pyautogui(pause: float, fail_safe: bool) -> Any:
    """The pyautogui module, imported now if it was not yet, set to pause `pause` seconds after each call.

    Its fail-safe (moving the mouse to a corner of the screen stops the run) stays on unless `fail_safe` is False.
    """
    require_display()
    try:
        with warnings.catch_warnings():
            # pyscreeze leaves the pipes of a `which` it runs at import time to the garbage collector.
            warnings.simplefilter("ignore", ResourceWarning)
            import pyautogui
    except Exception as exc:  # the X display named by DISPLAY cannot be opened
        raise ConfigurationError(
            _("the X display {display} cannot be opened: {reason}").format(
                display=os.environ.get("DISPLAY", ""), reason=exc
            ),
            hint=_(NO_DISPLAY),
        ) from None
    pyautogui.FAILSAFE = fail_safe
    pyautogui.PAUSE = pause
    return pyautogui


def x_tool(*args: str, timeout: float = 10.0) -> str:
    """Run an X tool (xdotool…) and give back what it printed; a clear error when it is not installed."""
    require_display()
    if shutil.which(args[0]) is None:
        raise ConfigurationError(
            _("{tool} is not installed").format(tool=args[0]),
            hint=_("install it with scripts/install-system-deps.sh (Debian package {package})").format(
                package=args[0]
            ),
        )
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ApplicationError(
            _("{tool} did not answer within {duration}").format(
                tool=args[0], duration=format_duration(timeout)
            )
        ) from None
    if done.returncode != 0 and done.stderr.strip():
        raise ApplicationError(
            _("{tool} failed: {reason}").format(tool=args[0], reason=done.stderr.strip().splitlines()[-1])
        )
    return done.stdout
