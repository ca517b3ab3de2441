"""Windows of the X display found by their title (xdotool), waited for by polling until a deadline."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TypeVar

from robots.desktop.display import x_tool
from robots.kit import ApplicationError, _, format_duration

T = TypeVar("T")

POLL_INTERVAL = 0.1
"""Seconds between two looks at the screen while waiting (a look takes about as long: this is not a fixed wait)."""


def poll(look: Callable[[], T | None], timeout: float) -> tuple[T | None, float]:
    """Call `look` until it gives something or `timeout` seconds have passed; (what it gave, seconds waited)."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        found = look()
        now = time.monotonic()
        if found is not None or now >= deadline:
            return found, now - started
        time.sleep(min(POLL_INTERVAL, deadline - now))


def windows_titled(title: str) -> list[int]:
    """The ids of the visible windows whose title contains `title` (case ignored), oldest first."""
    pattern = "(?i)" + re.escape(title)
    out = x_tool("xdotool", "search", "--onlyvisible", "--name", pattern)
    return [int(line) for line in out.split() if line.strip().isdigit()]


def window_title(window: int) -> str:
    """The title of a window."""
    return x_tool("xdotool", "getwindowname", str(window)).strip()


def wait_window(title: str, timeout: float) -> int:
    """The newest visible window whose title contains `title`, once it shows; an `ApplicationError` after `timeout`."""
    def newest() -> int | None:
        found = windows_titled(title)
        return found[-1] if found else None

    found, waited = poll(newest, timeout)
    if found is None:
        raise ApplicationError(
            _("no window titled '{title}' appeared within {duration}").format(
                title=title, duration=format_duration(waited)
            ),
            hint=_("check the title as the window shows it, and the screenshot in the artifacts"),
        )
    return found


def wait_gone(window: int, timeout: float) -> bool:
    """Whether the window has closed within `timeout` seconds."""

    def closed() -> bool | None:
        out = x_tool("xdotool", "search", "--onlyvisible", "--name", ".*")
        return True if str(window) not in out.split() else None

    gone, _waited = poll(closed, timeout)
    return bool(gone)


def focus(window: int) -> None:
    """Raise a window and give it the keyboard (works with or without a window manager)."""
    x_tool("xdotool", "windowraise", str(window))
    x_tool("xdotool", "windowfocus", "--sync", str(window))


def focused_window() -> int | None:
    """The window that has the keyboard, if any."""
    out = x_tool("xdotool", "getwindowfocus").strip()
    return int(out) if out.isdigit() else None


def ask_to_close(window: int) -> None:
    """Ask a window to close as its close button would (WM_DELETE_WINDOW), or end its client if it cannot be asked."""
    from Xlib import X, display, protocol

    screen = display.Display()
    try:
        target = screen.create_resource_object("window", window)
        delete = screen.intern_atom("WM_DELETE_WINDOW")
        if delete in (target.get_wm_protocols() or []):
            event = protocol.event.ClientMessage(
                window=target,
                client_type=screen.intern_atom("WM_PROTOCOLS"),
                data=(32, [delete, X.CurrentTime, 0, 0, 0]),
            )
            target.send_event(event, event_mask=X.NoEventMask)
        else:
            target.kill_client()
        screen.flush()
    finally:
        screen.close()
