"""The desktop robot: legacy desktop applications (a Java or Delphi client, a terminal) driven like a person would.

It starts an application and waits for its window, types (accents included), clicks at a place, on an image or on
a text found on the screen, and reads the screen by OCR. Windows are found by title through the X display with
xdotool; waits poll until a deadline, never sleep a fixed time. pyautogui is imported on the first action: without
a display each action fails with a clear configuration error. Any failure saves a screenshot to the artifacts.

Its actions are by topic: acting on the application in `input.py`, looking at the screen in `reading.py`; the
settings and the guard they all run in are `session.py`'s `DesktopCore`. Settings: the workflow's `desktop:`
key (`settings.py`: `pause`, `fail_safe`, `timeout`, `ocr_language`, `image_confidence`, `text_confidence`).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from typing import Any

from robots.desktop.input import InputActions
from robots.desktop.reading import ReadingActions
from robots.desktop.windows import CLOSE_PATIENCE, ask_to_close, focus, wait_gone, wait_window
from robots.kit import ApplicationError, ConfigurationError, Seconds, _, action


class Desktop(InputActions, ReadingActions):
    """Drive desktop applications on the X display: windows, typing, clicks, images and text on screen (pyautogui)."""

    name = "desktop"
    reads_its_own_changes = (
        True  # a dry run does not wait for a window that a skipped key press would have opened
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._started: list[subprocess.Popen[bytes]] = []

    @action(side_effects=True, idempotent=True)
    def launch(
        self,
        command: str | list[str],
        window: str,
        keep_open: bool = False,
        folder: str | None = None,
        timeout: Seconds | None = None,
    ) -> dict[str, Any]:
        """Start an application and wait for its window to show; it is given the keyboard.

        Starting an application changes things (it may open a session, lock records): a dry run does not.

        Args:
            command: The program and its arguments, e.g. "xterm -title Saisie", or as a list.
            window: A part of the title of the window it opens, e.g. "Saisie".
            keep_open: Leave the application running when the run ends (it is stopped otherwise).
            folder: The folder the application starts in, relative to the workflow's folder (that folder when
                not given).
            timeout: Seconds to wait for the window.

        Returns:
            The process id, the window's id and its title.
        """
        argv = shlex.split(command) if isinstance(command, str) else [str(part) for part in command]

        def work() -> dict[str, Any]:
            try:
                process = subprocess.Popen(
                    argv,
                    cwd=self.context.workflow_dir / folder if folder else self.context.workflow_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                    env={**os.environ},
                )
            except OSError as exc:
                raise ConfigurationError(
                    _("{program} cannot be started: {reason}").format(program=argv[0], reason=exc.strerror)
                ) from None
            if not keep_open:
                self._started.append(process)
            found, title = wait_window(window, self._timeout(timeout))
            focus(found)
            return {"pid": process.pid, "window": found, "title": title}

        return self._guarded(_("starting {program}").format(program=argv[0] if argv else "?"), work)

    @action
    def wait_for_window(self, title: str | list[str], timeout: Seconds | None = None) -> dict[str, Any]:
        """Wait until a window whose title contains `title` shows (or any of several titles).

        Args:
            title: A part of the window's title, case ignored, e.g. "Connexion"; or a list of them, to wait for
                whichever shows first, e.g. ["Dossier trouvé", "Aucun dossier"].
            timeout: Seconds to wait.

        Returns:
            The window's id and its full title.
        """

        def work() -> dict[str, Any]:
            found, shown = wait_window(title, self._timeout(timeout))
            return {"window": found, "title": shown}

        shown = title if isinstance(title, str) else " / ".join(title)
        return self._guarded(_("waiting for window '{title}'").format(title=shown), work)

    @action
    def focus_window(self, title: str, timeout: Seconds | None = None) -> dict[str, Any]:
        """Bring a window to the front and give it the keyboard, once it shows.

        Args:
            title: A part of the window's title, case ignored.
            timeout: Seconds to wait for it.

        Returns:
            The window's id and its full title.
        """

        def work() -> dict[str, Any]:
            found, shown = wait_window(title, self._timeout(timeout))
            focus(found)
            return {"window": found, "title": shown}

        return self._guarded(_("focusing window '{title}'").format(title=title), work)

    @action(side_effects=True)
    def close_window(self, title: str, timeout: Seconds | None = None) -> None:
        """Close a window as its close button would, and wait until it is gone.

        Args:
            title: A part of the window's title, case ignored.
            timeout: Seconds to wait for it to show, then to close.
        """

        def work() -> None:
            seconds = self._timeout(timeout)
            found, _shown = wait_window(title, seconds)
            ask_to_close(found)
            if not wait_gone(found, min(CLOSE_PATIENCE, seconds)):
                ask_to_close(found)  # measured: xterm just shown misses the first request once in ~10
            if not wait_gone(found, seconds):
                raise ApplicationError(
                    _("window '{title}' did not close").format(title=title),
                    hint=_(
                        "it may be asking a question (save changes?): check the screenshot in the artifacts"
                    ),
                )

        self._guarded(_("closing window '{title}'").format(title=title), work)

    def close(self) -> None:
        """Stop the applications the run started (unless launched with `keep_open`)."""
        for process in self._started:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    process.kill()
        self._started.clear()
