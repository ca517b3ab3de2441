"""Text from any document, read once for every robot: PDF (scans by OCR), .docx, .odt, text, e-mails, images.

`DocumentReader.read(path, limits)` returns a `DocumentText` (text, pages, kind, OCR confidence, language) or
raises an error naming the file; reading runs in a child process bounded in time and memory.
"""

from robots.kit.reading.reader import DocumentReader, shared_reader
from robots.kit.reading.record import DocumentKind, DocumentText, OcrMode, ReadingLimits, guess_language
from robots.kit.reading.refusals import READABLE_SUFFIXES

__all__ = [
    "READABLE_SUFFIXES",
    "DocumentKind",
    "DocumentReader",
    "DocumentText",
    "OcrMode",
    "ReadingLimits",
    "guess_language",
    "shared_reader",
]
