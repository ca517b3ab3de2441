"""Reading one document in this process: the reader for its type, chosen by its extension.

`read_document` is unbounded: `DocumentReader` runs it in a separate process with limits on time and memory.
Plain text files have their encoding detected (UTF-8 first, then charset-normalizer, so that a cp1252 file saved
by Excel or Notepad on Windows keeps its accents).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from robots.kit.reading.mail import read_eml, read_msg
from robots.kit.reading.office import read_docx, read_odt
from robots.kit.reading.pdf import read_pdf
from robots.kit.reading.record import DocumentKind, DocumentText, ReadingLimits, guess_language
from robots.kit.reading.refusals import READABLE_SUFFIXES, Refusal
from robots.kit.reading.scans import read_image

TEXT_SUFFIXES = (".txt", ".text", ".md", ".csv", ".tsv")
"""Plain text files: read in the robot's own process (their size bounds the work)."""


def read_plain_text(path: Path, limits: ReadingLimits) -> DocumentText:
    """A text file in any encoding: UTF-8 (with or without its mark), else what charset-normalizer finds."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(limits.max_characters * 4)
    except OSError as exc:
        raise Refusal("damaged", {"kind": "text", "reason": exc.strerror or str(exc)}) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        if best is None:
            raise Refusal("damaged", {"kind": "text", "reason": "binary data, not text"}) from None
        text = str(best)
    if "\x00" in text:
        raise Refusal("damaged", {"kind": "text", "reason": "binary data, not text"})
    text = text[: limits.max_characters]
    return DocumentText(text, pages=1, kind=DocumentKind.TEXT, language=guess_language(text))


_READERS: dict[str, Callable[[Path, ReadingLimits], DocumentText]] = {
    **dict.fromkeys(TEXT_SUFFIXES, read_plain_text),
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".odt": read_odt,
    ".eml": read_eml,
    ".msg": read_msg,
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".tif", ".tiff"), read_image),
}
assert set(_READERS) == set(READABLE_SUFFIXES)


def read_document(path: Path, limits: ReadingLimits) -> DocumentText:
    """The text of `path`, read in this process; raises a `Refusal` when it cannot be read."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise Refusal("unsupported", {"suffix": path.suffix.lower()})
    try:
        return reader(path, limits)
    except RecursionError as exc:
        raise Refusal("damaged", {"kind": path.suffix.lstrip(".").lower(), "reason": str(exc)}) from None
