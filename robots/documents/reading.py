"""The documents robot's reading: the text of any document, scans read by OCR, as a record.

The reader is the kit's (`robots.kit.DocumentReader`), shared with the files robot's filing rules: one reading
process per run, bounded in time and memory, whose refusals name the file and say what to do.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from robots.kit import (
    ConfinedPath,
    OcrMode,
    ReadingLimits,
    Robot,
    Seconds,
    _,
    action,
    format_number,
    shared_reader,
)

Pages = Annotated[int, Field(ge=1, le=100_000)]
Dpi = Annotated[int, Field(ge=72, le=600)]
Megabytes = Annotated[int, Field(ge=256, le=16_384)]
Languages = Annotated[str, Field(pattern=r"^[a-z_]{3,20}(\+[a-z_]{3,20}){0,4}$")]


class ReadingActions(Robot):
    """Reading documents' text (mixed into the documents robot)."""

    @action
    def read_text(
        self,
        path: ConfinedPath,
        *,
        ocr: OcrMode = "auto",
        max_pages: Pages = 500,
        timeout: Seconds = 300,
        dpi: Dpi = 300,
        languages: Languages = "fra+eng",
        memory_mb: Megabytes = 1536,
    ) -> dict[str, Any]:
        """Read the text of a document: PDF (scans by OCR), .docx, .odt, .txt/.md/.csv, .eml/.msg, image.

        A PDF page with no text layer (or too thin a one: a scan) is read by OCR (Tesseract), as are images
        (.png, .jpg, .tif). Text files may be in any encoding (UTF-8, or cp1252 as saved on Windows). A
        document is refused, with its name and a hint, when it has more pages than `max_pages`, takes longer
        than `timeout`, needs more memory than `memory_mb`, or is damaged.

        Args:
            path: The document, relative to the workflow's folder unless absolute; built from data (a mail's
                attachment name), it must stay in the run's folders.
            ocr: When to read pages by OCR: auto (pages without text), always, or never.
            max_pages: A document with more pages is refused.
            timeout: Seconds the reading may take (a scanned page takes a few seconds).
            dpi: Resolution at which PDF pages are rendered for OCR.
            languages: Tesseract's languages, e.g. "fra+eng" or "fra".
            memory_mb: Memory the reading may use, in megabytes.

        Returns:
            A record: text, pages, kind (pdf, scanned pdf, docx, odt, text, email, image), ocr (whether
            OCR read it), confidence (mean OCR word confidence from 0 to 100, or none), language (fr, en or
            none) and characters.
        """
        source = self.context.input_file(path, _("document"))
        limits = ReadingLimits(
            max_pages=max_pages, seconds=timeout, memory_mb=memory_mb, ocr=ocr, dpi=dpi, languages=languages
        )
        document = shared_reader(self.context).read(source, limits)
        if document.ocr:
            self.context.log(
                _("{name}: {pages} read by OCR, confidence {confidence} %").format(
                    name=source.name,
                    pages=format_number(document.pages),
                    confidence=format_number(document.confidence or 0),
                )
            )
        return document.to_record()
