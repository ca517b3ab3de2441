"""Desktop actions that look at the screen: screenshots, waiting for an image or a text, reading text (OCR)."""

from __future__ import annotations

from typing import Any

from robots.desktop.screen import ScreenRegion, Spot, read_text
from robots.desktop.session import DesktopCore
from robots.desktop.windows import poll, wait_window, window_region
from robots.kit import Seconds, _, action


class ReadingActions(DesktopCore):
    """Screenshots, waits for what shows, and OCR (mixed into the desktop robot)."""

    @action
    def screenshot(self, file: str | None = None, region: ScreenRegion | None = None) -> str | None:
        """Save a picture of the screen (or of a region of it) to the run's artifacts.

        A window a secret was typed into is blacked out in it; when that window cannot be told, no picture is
        taken and the run's log says why.

        Args:
            file: The picture's file name in the artifacts, e.g. "saisie.png".
            region: Only this part of the screen: [left, top, width, height].

        Returns:
            The picture's path (none when it could not be taken safely).
        """

        def work() -> str | None:
            picture = self._picture(self._region(region), _("taking a screenshot"))
            if picture is None:
                return None
            path = self.context.artifact_path(file or "screen.png")
            picture.save(path)
            self.context.record_artifact(path, "screenshot", _("screenshot of the screen"))
            return str(path)

        return self._guarded(_("taking a screenshot"), work)

    @action
    def wait_for_image(
        self,
        image: str,
        confidence: float | None = None,
        region: ScreenRegion | None = None,
        timeout: Seconds | None = None,
    ) -> dict[str, Any]:
        """Wait until an image shows on the screen (a button, an icon, a logo), also at another screen scale.

        Args:
            image: A picture (PNG) of what to wait for, e.g. "images/bouton-valider.png".
            confidence: How closely it must match, from 0 to 1 (the setting `desktop.image_confidence`, 0.8, by
                default).
            region: Look only in this part of the screen: [left, top, width, height].
            timeout: Seconds to wait.

        Returns:
            Where it is: left, top, width, height, its centre x and y, and the match's confidence.
        """
        spot = Spot(image=image, confidence=confidence, region=region)
        return self._guarded(
            _("waiting for image {image}").format(image=image),
            lambda: self._locate(spot, timeout).to_dict(),
        )

    @action
    def wait_for_text(
        self,
        text: str,
        confidence: float | None = None,
        region: ScreenRegion | None = None,
        timeout: Seconds | None = None,
    ) -> dict[str, Any]:
        """Wait until a text shows on the screen, read by OCR (Tesseract, French and English).

        Args:
            text: The text, one or more whole words, e.g. "Enregistrement effectué".
            confidence: How sure the reading must be, from 0 to 1 (the setting `desktop.text_confidence`, 0.6, by
                default).
            region: Look only in this part of the screen: [left, top, width, height].
            timeout: Seconds to wait.

        Returns:
            Where it is: left, top, width, height, its centre x and y, and the reading's confidence.
        """
        spot = Spot(text=text, confidence=confidence, region=region)
        return self._guarded(
            _("waiting for text '{text}'").format(text=text),
            lambda: self._locate(spot, timeout).to_dict(),
        )

    @action(at_most_one=[["region", "window"]])
    def read_text(
        self,
        region: ScreenRegion | None = None,
        window: str | None = None,
        language: str | None = None,
        timeout: Seconds | None = None,
    ) -> str:
        """Read the text shown on the screen, a region of it or a window, by OCR (Tesseract).

        Args:
            region: Only this part of the screen: [left, top, width, height].
            window: Only this window, once it shows: a part of its title, case ignored, e.g. "Dossier enregistré".
            language: Tesseract's languages, e.g. "fra" or "fra+eng" (the setting `desktop.ocr_language` by
                default).
            timeout: Seconds to wait for the window, and for text to show in it.

        Returns:
            The text read, its lines kept; a line showing a secret is masked.
        """

        def work() -> str:
            languages = language or self.language
            if window is None:
                return read_text(self._region(region), languages)
            seconds = self._timeout(timeout)
            where = window_region(wait_window(window, seconds)[0])
            # a window just shown may not be drawn yet (measured: a blank read now and then): read until it shows text
            text, _waited = poll(lambda: read_text(where, languages).strip() or None, seconds)
            return text or ""

        return self._guarded(_("reading the screen"), lambda: self.secrets.mask_read(work()))
