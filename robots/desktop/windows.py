"""Windows of the X display found by their title (python-xlib), focused with xdotool, waited for by polling until a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from robots.desktop.display import require_display, x_tool
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


def _title(screen: Any, window: Any) -> str:
    """A window's title: its UTF-8 _NET_WM_NAME, else its WM_NAME (Latin-1 when typed STRING), else ""."""
    from Xlib import X, Xatom

    utf8 = window.get_full_property(screen.intern_atom("_NET_WM_NAME"), screen.intern_atom("UTF8_STRING"))
    if utf8 is not None and utf8.value:
        return bytes(utf8.value).decode("utf-8", "replace")
    plain = window.get_full_property(Xatom.WM_NAME, X.AnyPropertyType)
    if plain is None or not plain.value:
        return ""
    raw = plain.value if isinstance(plain.value, bytes) else bytes(plain.value)
    return raw.decode("latin-1" if plain.property_type == Xatom.STRING else "utf-8", "replace")


def visible_windows() -> dict[int, str]:
    """The titled windows shown on the display (with or without a window manager): id → title, oldest first."""
    from Xlib import X, display, error

    require_display()
    screen = display.Display()
    found: dict[int, str] = {}

    def walk(window: Any, depth: int) -> None:
        try:
            children = window.query_tree().children
        except error.XError:  # closed meanwhile
            return
        for child in children:
            try:
                if child.get_attributes().map_state != X.IsViewable:
                    continue
                title = _title(screen, child)
            except error.XError:
                continue
            if title:
                found[child.id] = title
            elif depth < 3:  # a window manager's frame holds the application's window
                walk(child, depth + 1)

    try:
        walk(screen.screen().root, 0)
    finally:
        screen.close()
    return found


def windows_titled(title: str) -> list[tuple[int, str]]:
    """The shown windows whose title contains `title` (case ignored), oldest first: (id, title)."""
    wanted = title.casefold()
    return [(window, name) for window, name in visible_windows().items() if wanted in name.casefold()]


def wait_window(title: str | Sequence[str], timeout: float) -> tuple[int, str]:
    """The newest visible window whose title contains `title` (or one of several), once it shows.

    Raises:
        ApplicationError: none showed within `timeout` seconds.
    """
    titles = [title] if isinstance(title, str) else list(title)
    wanted = [each.casefold() for each in titles]

    def newest() -> tuple[int, str] | None:
        found = [
            (window, name)
            for window, name in visible_windows().items()
            if any(part in name.casefold() for part in wanted)
        ]
        return found[-1] if found else None

    found, waited = poll(newest, timeout)
    if found is None:
        raise ApplicationError(
            _("no window titled '{title}' appeared within {duration}").format(
                title=" / ".join(titles), duration=format_duration(waited)
            ),
            hint=_("check the title as the window shows it, and the screenshot in the artifacts"),
        )
    return found


def wait_gone(window: int, timeout: float) -> bool:
    """Whether the window has closed within `timeout` seconds."""

    def closed() -> bool | None:
        return True if window not in visible_windows() else None

    gone, _waited = poll(closed, timeout)
    return bool(gone)


def window_region(window: int) -> tuple[int, int, int, int]:
    """Where a window is on the screen: left, top, width, height, in pixels."""
    from Xlib import display

    require_display()
    screen = display.Display()
    try:
        target = screen.create_resource_object("window", window)
        geometry = target.get_geometry()
        origin = target.translate_coords(screen.screen().root, 0, 0)
        return -origin.x, -origin.y, geometry.width, geometry.height
    finally:
        screen.close()


def focus(window: int) -> None:
    """Raise a window and give it the keyboard (works with or without a window manager)."""
    from Xlib import display

    # Raised through python-xlib (what `xdotool windowraise` does: XRaiseWindow) rather than one more xdotool
    # process per focus: measured in the desktop benchmark, each process costs tens of milliseconds on a busy machine.
    screen = display.Display()
    try:
        screen.create_resource_object("window", window).raise_window()
        screen.sync()
    finally:
        screen.close()
    x_tool("xdotool", "windowfocus", "--sync", str(window))


def focused_window() -> int | None:
    """The window that has the keyboard, if any."""
    out = x_tool("xdotool", "getwindowfocus").strip()
    return int(out) if out.isdigit() else None


def top_level_box(window: int) -> tuple[int, int, int, int] | None:
    """Where the top-level window holding `window` shows on the screen, as `window_region` gives it.

    A widget's or a framed application window's top-level one; None once it is gone or hidden.
    """
    from Xlib import X, display, error

    screen = display.Display()
    try:
        root = screen.screen().root
        target = screen.create_resource_object("window", window)
        for _depth in range(16):
            parent = target.query_tree().parent
            if not parent or parent.id in (root.id, X.NONE):
                break
            target = parent
        if target.id == root.id or target.get_attributes().map_state != X.IsViewable:
            return None
        top = int(target.id)
    except error.XError:  # closed meanwhile
        return None
    finally:
        screen.close()
    try:
        return window_region(top)
    except error.XError:
        return None


CLOSE_PATIENCE = 2.0
"""Seconds a window just shown is given to say it accepts to be asked to close (an application sets that right
after showing its window), before its program is ended instead."""


def _ask_to_close_once(window: int) -> bool | None:
    """Send WM_DELETE_WINDOW to a window that says it accepts it: True once sent, None when it does not say so."""
    from Xlib import X, display, protocol

    screen = display.Display()
    try:
        target = screen.create_resource_object("window", window)
        delete = screen.intern_atom("WM_DELETE_WINDOW")
        if delete not in (target.get_wm_protocols() or []):
            return None
        event = protocol.event.ClientMessage(
            window=target,
            client_type=screen.intern_atom("WM_PROTOCOLS"),
            data=(32, [delete, X.CurrentTime, 0, 0, 0]),
        )
        target.send_event(event, event_mask=X.NoEventMask)
        screen.flush()
        return True
    finally:
        screen.close()


def ask_to_close(window: int) -> None:
    """Ask a window to close as its close button would (WM_DELETE_WINDOW), or end its program if it cannot be asked."""
    asked, _waited = poll(lambda: _ask_to_close_once(window), CLOSE_PATIENCE)
    if not asked:
        x_tool("xdotool", "windowkill", str(window))
