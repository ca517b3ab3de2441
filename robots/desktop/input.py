"""Desktop actions that act on the application: clicks, typing, keys, scrolling and dragging.

Each one may submit something (a click on "Valider", Enter in a form), so each declares that it changes the
outside world: the work-item ledger records it, and an item that fails after it is never entered again blindly.
"""

from __future__ import annotations

import re
from typing import Literal

from robots.desktop.keyboard import type_characters
from robots.desktop.screen import Spot
from robots.desktop.session import DesktopCore
from robots.kit import Seconds, WorkflowBug, _, action

Button = Literal["left", "middle", "right"]

_TYPED_RUNS = re.compile(r"[\x20-\x7e\n\t]+|[^\x20-\x7e\n\t]+")
"""Runs of text pyautogui types (printable ASCII, Enter, Tab) and runs it cannot (accents, « », €…)."""


class InputActions(DesktopCore):
    """Clicks, typing, keys, scrolling and dragging (mixed into the desktop robot)."""

    def _between(self, count: int) -> float:
        """Seconds pyautogui waits after each of `count` clicks or presses: the pause between several, none after one.

        pyautogui sleeps `interval` after every click or press, the last one too, and then its own pause: passing
        the pause as interval for a single one waited twice (measured: a tenth of a second per key, a third of the
        desktop entry benchmark's time).
        """
        return self.pause if count > 1 else 0.0

    def _click(self, spot: Spot, button: Button, clicks: int, timeout: float | None) -> dict[str, int]:
        def work() -> dict[str, int]:
            x, y = self._locate(spot, timeout).centre
            self.gui.click(x=x, y=y, clicks=clicks, interval=self._between(clicks), button=button)
            return {"x": x, "y": y}

        return self._guarded(_("clicking {spot}").format(spot=spot.describe()), work)

    @action(side_effects=True)
    def click(
        self, spot: Spot, button: Button = "left", clicks: int = 1, timeout: Seconds | None = None
    ) -> dict[str, int]:
        """Click at a place on the screen, on an image found there, or on a text read there.

        Args:
            spot: Where to click.
            button: The mouse button.
            clicks: How many clicks.
            timeout: Seconds to wait for the image or the text to show.

        Returns:
            Where the click landed: x and y.
        """
        return self._click(spot, button, clicks, timeout)

    @action(side_effects=True)
    def double_click(self, spot: Spot, timeout: Seconds | None = None) -> dict[str, int]:
        """Double-click at a place on the screen, on an image found there, or on a text read there.

        Args:
            spot: Where to double-click.
            timeout: Seconds to wait for the image or the text to show.

        Returns:
            Where the clicks landed: x and y.
        """
        return self._click(spot, "left", 2, timeout)

    @action(side_effects=True)
    def right_click(self, spot: Spot, timeout: Seconds | None = None) -> dict[str, int]:
        """Click with the right button (to open a context menu) on a place, an image or a text of the screen.

        Args:
            spot: Where to click.
            timeout: Seconds to wait for the image or the text to show.

        Returns:
            Where the click landed: x and y.
        """
        return self._click(spot, "right", 1, timeout)

    @action(side_effects=True)
    def type_text(self, text: str, interval: float = 0.0) -> None:
        """Type a text into the window that has the keyboard, accents and all (« Café élève à l'hôpital »).

        Plain ASCII is typed by pyautogui; every other character through a key mapped for it (see `keyboard.py`),
        since pyautogui drops what the keyboard has no key for. A text holding a secret (`{{ secrets.mot_de_passe
        }}`) is masked in every record, and the window it goes into is blacked out in every later screenshot.

        Args:
            text: The text to type; a line break presses Enter, a tab Tab.
            interval: Seconds between two characters, for an application that cannot keep up.
        """

        def work() -> None:
            gui = self.gui
            self.secrets.typing(text)  # before the first key: a failure half-way must not show it either
            for run in _TYPED_RUNS.findall(text):
                if run.isascii():
                    gui.write(run, interval=interval)
                else:
                    type_characters(run, interval)

        self._guarded(_("typing text"), work)

    def _keys(self, keys: str | list[str]) -> list[str]:
        names = keys if isinstance(keys, list) else keys.split("+") if len(keys) > 1 else [keys]
        names = [name.strip().lower() if len(name.strip()) > 1 else name for name in names]
        unknown = [name for name in names if name not in self.gui.KEYBOARD_KEYS]
        if unknown:
            raise WorkflowBug(
                _("unknown key: {keys}").format(keys=", ".join(unknown)),
                hint=_("keys are named as pyautogui names them: enter, tab, esc, f1, ctrl, alt, shift, a…"),
            )
        return names

    @action(side_effects=True)
    def press(self, key: str, presses: int = 1) -> None:
        """Press a key (Enter, Tab, Escape, F5…) one or more times.

        Args:
            key: The key's name, e.g. "enter", "tab", "esc", "f5", "down".
            presses: How many times to press it.
        """

        def work() -> None:
            (name,) = self._keys([key])
            self.gui.press(name, presses=presses, interval=self._between(presses))

        self._guarded(_("pressing {key}").format(key=key), work)

    @action(side_effects=True)
    def hotkey(self, keys: str | list[str]) -> None:
        """Press keys together, as a shortcut: "ctrl+s", or ["ctrl", "shift", "n"].

        Args:
            keys: The keys, joined by "+" or as a list, held down in that order and released in the reverse.
        """

        def work() -> None:
            self.gui.hotkey(*self._keys(keys))

        shown = keys if isinstance(keys, str) else "+".join(keys)
        self._guarded(_("pressing {key}").format(key=shown), work)

    @action
    def scroll(self, clicks: int, spot: Spot | None = None, timeout: Seconds | None = None) -> None:
        """Turn the mouse wheel: up for a positive number of clicks, down for a negative one.

        Args:
            clicks: Wheel clicks, e.g. -5 to go down.
            spot: Where to point the mouse first (where it is, when not given).
            timeout: Seconds to wait for the image or the text to show.
        """

        def work() -> None:
            if spot is None:
                self.gui.scroll(clicks)
            else:
                x, y = self._locate(spot, timeout).centre
                self.gui.scroll(clicks, x=x, y=y)

        self._guarded(_("scrolling"), work)

    @action(side_effects=True)
    def drag(
        self, spot: Spot, to_x: int, to_y: int, duration: float = 0.3, timeout: Seconds | None = None
    ) -> None:
        """Press the left button on a place, an image or a text of the screen, move to another place and let go.

        Args:
            spot: Where the drag starts.
            to_x: Where it ends, in pixels from the left of the screen.
            to_y: Where it ends, in pixels from the top of the screen.
            duration: Seconds the move lasts (some applications miss a move that is instant).
            timeout: Seconds to wait for the image or the text to show.
        """

        def work() -> None:
            x, y = self._locate(spot, timeout).centre
            self.gui.moveTo(x, y)
            self.gui.dragTo(to_x, to_y, duration=duration, button="left")

        self._guarded(_("dragging {spot}").format(spot=spot.describe()), work)
