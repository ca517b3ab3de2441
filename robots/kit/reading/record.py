"""What reading a document gives (its text, pages, kind, OCR confidence, language) and the bounds it is read within."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Literal

OcrMode = Literal["auto", "always", "never"]
"""When pages are read by OCR: `auto` when a page has no text layer (or too thin a one), `always`, or `never`."""


class DocumentKind(StrEnum):
    """What a document was read as."""

    PDF = "pdf"
    SCANNED_PDF = "scanned pdf"
    DOCX = "docx"
    ODT = "odt"
    TEXT = "text"
    EMAIL = "email"
    IMAGE = "image"


@dataclass(frozen=True)
class ReadingLimits:
    """The bounds one document is read within: pages, seconds, memory, and how OCR reads scans."""

    max_pages: int = 500
    seconds: float = 300.0
    memory_mb: int = 1536
    ocr: OcrMode = "auto"
    dpi: int = 300
    languages: str = "fra+eng"
    max_characters: int = 5_000_000
    max_unpacked_mb: int = 200
    """What a .docx or .odt (a zip archive) may unpack to: a bigger one is a zip bomb."""

    def to_dict(self) -> dict[str, Any]:
        """The limits as JSON data (sent to the reading process)."""
        return asdict(self)


@dataclass(frozen=True)
class DocumentText:
    """The text of one document, and how it was read."""

    text: str
    pages: int
    kind: DocumentKind
    ocr: bool = False
    confidence: float | None = None
    """Mean confidence of the words OCR read (0-100), None when OCR was not used."""
    language: str | None = None
    """The language ("fr" or "en") when the text says so clearly, else None."""

    @property
    def characters(self) -> int:
        """Characters of the text."""
        return len(self.text)

    def to_record(self) -> dict[str, Any]:
        """The record an action returns: text, pages, kind, ocr, confidence, language, characters."""
        return {
            "text": self.text,
            "pages": self.pages,
            "kind": str(self.kind),
            "ocr": self.ocr,
            "confidence": self.confidence,
            "language": self.language,
            "characters": self.characters,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> DocumentText:
        """The inverse of `to_record` (as sent back by the reading process)."""
        return cls(
            text=str(record["text"]),
            pages=int(record["pages"]),
            kind=DocumentKind(record["kind"]),
            ocr=bool(record["ocr"]),
            confidence=None if record["confidence"] is None else float(record["confidence"]),
            language=record["language"],
        )


# The commonest short words of each language, which a text of a few lines is made of.
_STOP_WORDS = {
    "fr": frozenset(
        "le la les de des du un une et est en au aux pour par sur dans que qui ne pas vous nous votre "
        "vos avec ce cette ces il elle sont ont été madame monsieur".split()
    ),
    "en": frozenset(
        "the of and to in is are for on with that this be by as at from you your we our it not have has "
        "was were dear".split()
    ),
}
_WORD = re.compile(r"[^\W\d_]+")


def guess_language(text: str, *, sample: int = 20_000) -> str | None:
    """The language of a text ("fr" or "en") when its common short words clearly say which, else None."""
    counts = dict.fromkeys(_STOP_WORDS, 0)
    for word in _WORD.findall(text[:sample].casefold()):
        for language, words in _STOP_WORDS.items():
            if word in words:
                counts[language] += 1
    best = max(counts, key=lambda language: counts[language])
    others = sum(count for language, count in counts.items() if language != best)
    return best if counts[best] >= 3 and counts[best] >= 2 * others else None
