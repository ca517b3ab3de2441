"""The text of a PDF: its text layer (pypdf), and OCR for the pages that have none, or too thin a one (scans)."""

from __future__ import annotations

import warnings
from pathlib import Path

from robots.kit.reading.record import DocumentKind, DocumentText, ReadingLimits, guess_language
from robots.kit.reading.refusals import Refusal
from robots.kit.reading.scans import OcrText, is_thin, read_page, render_pdf_pages


def read_pdf(path: Path, limits: ReadingLimits) -> DocumentText:
    """Pages counted and bounded first; text layer per page; OCR as `limits.ocr` says."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    # From a file handle, pypdf reads what it needs (from a path it would read the whole file into memory), and its
    # cache of objects is emptied after each page: a scan's images are not kept. A 343 MB scan of 200 pages grows
    # the process by 3 MB instead of 690 MB.
    with warnings.catch_warnings(), path.open("rb") as handle:
        warnings.simplefilter("ignore")
        try:
            reader = PdfReader(handle)
            if reader.is_encrypted and not reader.decrypt(""):
                raise Refusal("encrypted")
            count = len(reader.pages)
        except (
            PdfReadError,
            PyPdfError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            RecursionError,
        ) as exc:
            raise Refusal("damaged", {"kind": "pdf", "reason": str(exc) or type(exc).__name__}) from None
        if count > limits.max_pages:
            raise Refusal("too-many-pages", {"pages": count, "limit": limits.max_pages})
        texts: list[str] = []
        size = 0
        for number in range(count):
            text = ""
            if limits.ocr != "always":
                try:
                    text = reader.pages[number].extract_text() or ""
                except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise Refusal("damaged", {"kind": "pdf", "reason": f"page {number + 1}: {exc}"}) from None
            reader.resolved_objects.clear()
            texts.append(text)
            size += len(text)
            if size > limits.max_characters:
                break
    scanned = [number for number, text in enumerate(texts) if is_thin(text)] if limits.ocr != "never" else []
    ocr = OcrText()
    for number, image in render_pdf_pages(path, scanned, limits):
        texts[number] = read_page(image, limits, ocr)
    text = "\n\n".join(texts)[: limits.max_characters]
    return DocumentText(
        text,
        pages=count,
        kind=DocumentKind.SCANNED_PDF if scanned else DocumentKind.PDF,
        ocr=bool(scanned),
        confidence=ocr.confidence,
        language=guess_language(text),
    )
