"""Secrets typed on the desktop, kept off the pictures of the screen and out of what is read on it.

A typed text holds a secret when the run's redaction masks some of it (`RobotContext.redact`: the engine knows
every secret of the run and every value a template computed from one). The step's parameters, its errors and
every record are masked by the engine already; what only the desktop can leak is handled here:

- the window that had the keyboard is remembered, and every later picture of the screen (a failure's screenshot,
  `desktop.screenshot`) shows it blacked out for as long as it is open, since an application may show what was
  typed (a terminal echoes it, an old client shows a password in clear). When that window cannot be told, no
  failure screenshot is taken at all, and the run's log says why;
- the secret itself is remembered in memory, and a line read on the screen (`desktop.read_text`) that shows at
  least half of it in one piece, compared loosely as OCR reads (case, accents, spaces, 0/o, 1/l/i), is masked
  whole, and so is a line beside it showing another piece of it (4 characters or more), besides the run's own
  redaction of what it reads exactly.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from robots.desktop.screen import Region
from robots.desktop.windows import focused_window, top_level_box
from robots.kit import RoboError

if TYPE_CHECKING:
    from PIL.Image import Image

MASK = "***"
SHORTEST = 3
"""A loose form shorter than this is not looked for in what is read (it would mask ordinary words)."""
NEIGHBOUR_PIECE = 4
"""A line beside one that shows half a secret is masked when it shows this many of its characters in one piece."""
_CONFUSED = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "!": "l"})
"""Characters OCR takes for one another, read as one."""


def loose(text: str) -> str:
    """`text` as compared with what OCR reads: case, accents and spaces dropped, look-alike characters merged."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(char for char in decomposed if not unicodedata.combining(char) and not char.isspace())
    return kept.translate(_CONFUSED)


def secret_parts(text: str, masked: str) -> list[str]:
    """The parts of `text` its redaction `masked` replaced by `MASK` (the whole text when they cannot be told)."""
    pieces = masked.split(MASK)
    if len(pieces) < 2:
        return []
    pattern = "(.+?)".join(re.escape(piece) for piece in pieces)
    found = re.fullmatch(pattern, text, re.DOTALL)
    return list(found.groups()) if found else [text]


class SecretsOnScreen:
    """What one desktop robot typed that holds a secret: the windows it went into, and the secrets themselves."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        self._redact = redact
        self._windows: set[int] = set()
        self._unplaced = False
        self._loose: set[str] = set()

    def typing(self, text: str) -> bool:
        """Note `text`, about to be typed into the window that has the keyboard; whether it holds a secret."""
        parts = secret_parts(text, self._redact(text))
        if not parts:
            return False
        self._loose |= {form for form in map(loose, parts) if len(form) >= SHORTEST}
        try:
            window = focused_window()
        except RoboError:
            window = None
        if window is None:
            self._unplaced = True
        else:
            self._windows.add(window)
        return True

    def cover(self, picture: Image, region: Region | None) -> bool:
        """Black out in `picture` (of the screen, or of `region`) every window a secret was typed into.

        False when a secret went where no window could be told: then no picture is safe.
        """
        if self._unplaced:
            return False
        if not self._windows:
            return True
        from PIL import ImageDraw

        draw = ImageDraw.Draw(picture)
        left0, top0 = (region[0], region[1]) if region is not None else (0, 0)
        for window in sorted(self._windows):
            box = top_level_box(window)
            if box is None:  # closed or hidden: nothing of it shows
                continue
            left, top, width, height = box
            draw.rectangle(
                (left - left0, top - top0, left - left0 + width - 1, top - top0 + height - 1), fill="black"
            )
        return True

    def mask_read(self, text: str) -> str:
        """A text read on the screen with every secret masked.

        Exactly as the run masks them, and loosely (the whole line) for one typed here and read back with OCR's
        mistakes, or cut in two on the screen.
        """
        text = self._redact(text)
        if not self._loose:
            return text
        lines = text.split("\n")
        pieces = [self._piece(line) for line in lines]
        half = [piece >= 0.5 for piece, _size in pieces]
        kept = []
        for index, line in enumerate(lines):
            beside = (index > 0 and half[index - 1]) or (index + 1 < len(lines) and half[index + 1])
            shown = half[index] or (beside and pieces[index][1] >= NEIGHBOUR_PIECE)
            kept.append(MASK if shown else line)
        return "\n".join(kept)

    def _piece(self, line: str) -> tuple[float, int]:
        """The longest piece of a typed secret `line` shows, compared loosely: its share, from 0 to 1, and length.

        A line showing at least half of one is masked: a terminal that echoes what is typed while the application
        writes may cut a secret in two on the screen (measured with xterm and `cat`: "S" on one line, "ésame-Ouvre-
        Toi 42" on the next), and a long one is wrapped at the window's edge. The other part, on a line beside it,
        is masked too when it is at least `NEIGHBOUR_PIECE` characters long.
        """
        seen = loose(line)
        best: tuple[float, int] = (0.0, 0)
        for form in self._loose:
            size = SequenceMatcher(None, seen, form, autojunk=False).find_longest_match().size
            if size >= SHORTEST:
                best = max(best, (size / len(form), size))
        return best
