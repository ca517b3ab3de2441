"""A virtual X display (Xvfb, through PyVirtualDisplay) for the length of a run: `robo run --virtual-display`.

Unattended desktop runs then need no logged-in session: the desktop robot finds DISPLAY set to the new screen.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from robots.kit import ConfigurationError, _

VIRTUAL_SCREEN = (1280, 1024)
"""The virtual screen's size in pixels."""


@contextmanager
def virtual_display(wanted: bool) -> Iterator[str | None]:
    """Start Xvfb on a free display number and set DISPLAY to it while the block runs (when `wanted`).

    Gives the new DISPLAY, or None when not wanted; the previous DISPLAY is restored at the end.
    """
    if not wanted:
        yield None
        return
    if shutil.which("Xvfb") is None:
        raise ConfigurationError(
            _("Xvfb is not installed: no virtual display can be started"),
            hint=_("install it with scripts/install-system-deps.sh (Debian package {package})").format(
                package="xvfb"
            ),
        )
    from pyvirtualdisplay.display import Display

    # -noreset: Xvfb would otherwise reset (dropping the connections being opened) whenever its last client leaves.
    screen = Display(visible=False, size=VIRTUAL_SCREEN, color_depth=24, extra_args=["-noreset"])
    screen.start()  # sets DISPLAY in os.environ; stop() restores the previous value
    try:
        yield screen.new_display_var
    finally:
        screen.stop()
