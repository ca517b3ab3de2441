"""What is on the screen: screenshots (Pillow), images found on it (OpenCV), text read from it (Tesseract).

Pillow's `ImageGrab.grab()` reads the X display as it is; `pyautogui.screenshot()` needs scrot and an X11
session type, so it is not used. OpenCV and pytesseract are imported on first use.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field

from robots.kit import ConfigurationError, FlatParameters, _

Region = tuple[int, int, int, int]
"""A part of the screen: left, top, width, height, in pixels."""

ScreenRegion = Annotated[list[int], Field(min_length=4, max_length=4)]
"""A region as a workflow writes it: [left, top, width, height]."""

SCALES = (1.0, 0.9, 1.1, 0.8, 1.25, 0.75, 1.5, 0.67, 2.0, 0.5)
"""The sizes an image is looked for at, the written one first (a screen of another resolution)."""

OCR_ZOOM = 2
"""Screens are read enlarged this many times: Tesseract reads small screen fonts far better so."""


@dataclass(frozen=True)
class Box:
    """Where something was found on the screen, and how sure the match is (0 to 1)."""

    left: int
    top: int
    width: int
    height: int
    confidence: float

    @property
    def centre(self) -> tuple[int, int]:
        """The middle of the box, where a click lands."""
        return self.left + self.width // 2, self.top + self.height // 2

    def to_dict(self) -> dict[str, Any]:
        """The box as workflow data."""
        x, y = self.centre
        return {
            "left": self.left,
            "top": self.top,
            "width": self.width,
            "height": self.height,
            "x": x,
            "y": y,
            "confidence": round(self.confidence, 3),
        }


ScreenPosition = Annotated[list[int], Field(min_length=2, max_length=2)]
"""A point as a workflow writes it: [x, y], in pixels from the top left corner of the screen."""


@dataclass(frozen=True)
class Spot(FlatParameters):
    """Where to point on the screen: give a position, or an image to find, or a text to find.

    Args:
        position: A point of the screen: [x, y] in pixels from its top left corner, e.g. [640, 480].
        image: A picture (PNG) of what to point at, e.g. "images/bouton-valider.png", found on the screen.
        text: A text shown on the screen, found by reading it (OCR), e.g. "Valider".
        confidence: How closely the image or the text must match, from 0 to 1 (by default the settings
            `desktop.image_confidence`, 0.8, and `desktop.text_confidence`, 0.6).
        region: Look only in this part of the screen: [left, top, width, height].
    """

    position: ScreenPosition | None = None
    image: str | None = None
    text: str | None = None
    confidence: float | None = None
    region: ScreenRegion | None = None

    choose_one: ClassVar[tuple[str, ...]] = ("position", "image", "text")

    def describe(self) -> str:
        """The spot in words, for messages."""
        if self.image is not None:
            return f"image {self.image}"
        if self.text is not None:
            return f"'{self.text}'"
        return f"{self.position}"


def grab(region: Region | None = None) -> Any:
    """A picture of the screen (or of a region of it), as a Pillow image."""
    from PIL import ImageGrab

    if region is None:
        return ImageGrab.grab()
    left, top, width, height = region
    return ImageGrab.grab(bbox=(left, top, left + width, top + height))


def find_image(template: Path, confidence: float, region: Region | None = None) -> Box | None:
    """The best place of `template` on the screen at one of `SCALES`, if it matches at least `confidence`."""
    import cv2
    import numpy as np

    needle = cv2.imread(str(template), cv2.IMREAD_GRAYSCALE)
    if needle is None:
        raise ValueError(str(template))
    shot = grab(region)
    haystack = cv2.cvtColor(np.asarray(shot.convert("RGB")), cv2.COLOR_RGB2GRAY)
    best: Box | None = None
    for scale in SCALES:
        sized = needle if scale == 1.0 else cv2.resize(needle, None, fx=scale, fy=scale)
        height, width = sized.shape[:2]
        if height > haystack.shape[0] or width > haystack.shape[1] or min(height, width) < 4:
            continue
        scores = cv2.matchTemplate(haystack, sized, cv2.TM_CCOEFF_NORMED)
        _low, score, _low_at, (left, top) = cv2.minMaxLoc(scores)
        if best is None or score > best.confidence:
            best = Box(left, top, width, height, float(score))
        if score >= 0.99:
            break
    if best is None or best.confidence < confidence:
        return None
    if region is not None:
        best = Box(best.left + region[0], best.top + region[1], best.width, best.height, best.confidence)
    return best


@dataclass(frozen=True)
class Word:
    """One word read on the screen."""

    text: str
    box: Box


@functools.cache
def installed_languages() -> frozenset[str]:
    """The languages Tesseract has data for here ("eng", "fra"…); a clear error when Tesseract is missing."""
    import pytesseract

    try:
        return frozenset(pytesseract.get_languages(config=""))
    except pytesseract.TesseractNotFoundError:
        raise ConfigurationError(
            _("Tesseract is not installed: the screen cannot be read"),
            hint=_(
                "install it with scripts/install-system-deps.sh (Debian packages tesseract-ocr, tesseract-ocr-fra)"
            ),
        ) from None


def check_languages(language: str) -> None:
    """A `ConfigurationError` when Tesseract has no data for one of `language`'s languages ("fra+eng")."""
    missing = [name for name in language.split("+") if name not in installed_languages()]
    if missing:
        raise ConfigurationError(
            _("Tesseract has no data for the language {languages}").format(languages=", ".join(missing)),
            hint=_("installed here: {installed}; on Debian, install tesseract-ocr-{package}").format(
                installed=", ".join(sorted(installed_languages())), package=missing[0]
            ),
        )


def read_words(region: Region | None, language: str) -> list[Word]:
    """The words Tesseract reads on the screen (or a region), in reading order, with their boxes."""
    import pytesseract
    from PIL import Image

    check_languages(language)
    shot = grab(region)
    zoomed = shot.convert("L").resize(
        (shot.width * OCR_ZOOM, shot.height * OCR_ZOOM), Image.Resampling.LANCZOS
    )
    data = pytesseract.image_to_data(zoomed, lang=language, output_type=pytesseract.Output.DICT)
    left0, top0 = (region[0], region[1]) if region is not None else (0, 0)
    words = []
    for index, text in enumerate(data["text"]):
        confidence = float(data["conf"][index])
        if not str(text).strip() or confidence < 0:
            continue
        box = Box(
            left0 + int(data["left"][index]) // OCR_ZOOM,
            top0 + int(data["top"][index]) // OCR_ZOOM,
            int(data["width"][index]) // OCR_ZOOM,
            int(data["height"][index]) // OCR_ZOOM,
            confidence / 100,
        )
        words.append(Word(str(text), box))
    return words


def read_text(region: Region | None, language: str) -> str:
    """The text Tesseract reads on the screen (or a region), lines kept."""
    import pytesseract
    from PIL import Image

    check_languages(language)
    shot = grab(region)
    zoomed = shot.convert("L").resize(
        (shot.width * OCR_ZOOM, shot.height * OCR_ZOOM), Image.Resampling.LANCZOS
    )
    return str(pytesseract.image_to_string(zoomed, lang=language)).strip()


def comparable(text: str) -> str:
    """Text as compared with what was read: case, accents' composed form and spacing do not matter."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def find_text(wanted: str, words: list[Word], confidence: float) -> Box | None:
    """The box of the first run of consecutive words that reads `wanted`, each read at least `confidence` sure."""
    target = comparable(wanted)
    count = max(1, len(target.split()))
    for start in range(len(words)):
        run = words[start : start + count]
        if len(run) < count or comparable(" ".join(word.text for word in run)).strip(" :.,;") != target:
            continue
        sure = min(word.box.confidence for word in run)
        if sure < confidence:
            continue
        left = min(word.box.left for word in run)
        top = min(word.box.top for word in run)
        right = max(word.box.left + word.box.width for word in run)
        bottom = max(word.box.top + word.box.height for word in run)
        return Box(left, top, right - left, bottom - top, sure)
    return None
