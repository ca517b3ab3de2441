"""The `documents` robot: what documents say, read as text, and the values extracted from it.

Reading any document (scans by OCR, in a process bounded in time and memory) is `reading.py`; extraction
(regular expressions and ready patterns) is `extraction.py`.
"""

from __future__ import annotations

from robots.documents.extraction import ExtractionActions
from robots.documents.reading import ReadingActions


class Documents(ReadingActions, ExtractionActions):
    """Read documents and extract what they hold: references, SIRET and SIREN, IBAN, dates, amounts."""

    name = "documents"
