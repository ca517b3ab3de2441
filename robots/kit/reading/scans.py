"""Scans read by OCR (Tesseract through pytesseract): images, and PDF pages rendered by pdfium.

A page is turned to grey, and its image bounded in pixels whatever the page size claims (a hostile PDF page of
200 inches is rendered smaller, not into gigabytes). The text keeps Tesseract's lines and paragraphs; the
confidence of a document is the mean of its words' confidences (0-100).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from robots.kit.reading.record import DocumentKind, DocumentText, ReadingLimits, guess_language
from robots.kit.reading.refusals import Refusal

if TYPE_CHECKING:
    from PIL.Image import Image

_PAGES_PER_OPENING = 10
"""pdfium keeps what it decoded of a document (a scan's images) until the document closes: it is reopened every
10 pages, so a 200-page scan holds 10 pages' images, not 200 (about 400 MB on a 343 MB scan)."""

MAX_PIXELS = 40_000_000
"""Pixels of one page given to OCR: an A4 page at 600 dpi is 35 million."""


@dataclass
class OcrText:
    """Pages read by OCR: their texts and every word's confidence."""

    pages: list[str] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)

    @property
    def confidence(self) -> float | None:
        """Mean word confidence, rounded to one decimal."""
        return round(sum(self.confidences) / len(self.confidences), 1) if self.confidences else None


def read_page(image: Image, limits: ReadingLimits, into: OcrText) -> str:
    """The text Tesseract reads on one page image (added to `into` with its words' confidences)."""
    import pytesseract

    grey = image.convert("L")
    try:
        data = pytesseract.image_to_data(grey, lang=limits.languages, output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractNotFoundError as exc:
        raise Refusal("no-ocr", {"reason": str(exc)}) from None
    except pytesseract.TesseractError as exc:
        if "language" in str(exc).lower() or "traineddata" in str(exc):
            raise Refusal("no-ocr", {"reason": str(exc).strip()}) from None
        raise
    lines: list[str] = []
    current: tuple[int, int, int] | None = None
    words: list[str] = []
    for index, word in enumerate(data["text"]):
        word = str(word).strip()
        confidence = float(data["conf"][index])
        if not word or confidence < 0:
            continue
        key = (int(data["block_num"][index]), int(data["par_num"][index]), int(data["line_num"][index]))
        if key != current:
            if words:
                lines.append(" ".join(words))
            if current is not None and key[:2] != current[:2]:
                lines.append("")
            current, words = key, []
        words.append(word)
        into.confidences.append(confidence)
    if words:
        lines.append(" ".join(words))
    text = "\n".join(lines)
    into.pages.append(text)
    return text


def render_pdf_pages(
    path: Path, numbers: Iterable[int], limits: ReadingLimits
) -> Iterable[tuple[int, Image]]:
    """Pages of a PDF (numbered from 0) as grey images at `limits.dpi`, each bounded to `MAX_PIXELS`.

    An image is valid until the next one is asked for (its pixels are pdfium's, freed then).
    """
    import pypdfium2

    document = None
    try:
        for index, number in enumerate(numbers):
            if document is None or index % _PAGES_PER_OPENING == 0:
                if document is not None:
                    document.close()
                try:
                    document = pypdfium2.PdfDocument(str(path))
                except pypdfium2.PdfiumError as exc:
                    raise Refusal("damaged", {"kind": "pdf", "reason": str(exc)}) from None
            page = document[number]
            try:
                width, height = page.get_size()
                scale = limits.dpi / 72
                if width * height * scale * scale > MAX_PIXELS:
                    scale = math.sqrt(MAX_PIXELS / max(width * height, 1.0))
                bitmap = page.render(scale=scale, grayscale=True)
                try:
                    yield number, bitmap.to_pil()
                finally:
                    bitmap.close()  # pdfium's buffer freed now, not whenever the garbage collector gets to it
            finally:
                page.close()
    finally:
        if document is not None:
            document.close()


def read_image(path: Path, limits: ReadingLimits) -> DocumentText:
    """An image (.png, .jpg, .tif; each frame of a multi-page TIFF is a page) read by OCR."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2  # Pillow refuses twice this number (and only warns between)
    ocr = OcrText()
    try:
        with Image.open(path) as image:
            frames = getattr(image, "n_frames", 1)
            if frames > limits.max_pages:
                raise Refusal("too-many-pages", {"pages": frames, "limit": limits.max_pages})
            for frame in ImageSequence.Iterator(image):
                read_page(frame, limits, ocr)
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(found[1]) if found else MAX_PIXELS
        raise Refusal("image-too-big", {"pixels": pixels}) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Refusal("damaged", {"kind": path.suffix.lstrip(".").lower(), "reason": str(exc)}) from None
    text = "\n\n".join(ocr.pages)[: limits.max_characters]
    return DocumentText(
        text,
        pages=len(ocr.pages),
        kind=DocumentKind.IMAGE,
        ocr=True,
        confidence=ocr.confidence,
        language=guess_language(text),
    )


def is_thin(text: str) -> bool:
    """Whether a page's text layer is too thin to be its text (a scan, maybe with a stamp or a page number)."""
    return sum(char.isalnum() for char in text) < 20
