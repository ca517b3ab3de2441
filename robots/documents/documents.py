"""The `documents` robot: what documents say, read as text, and the values extracted from it.

Extraction (regular expressions and ready patterns) is `extraction.py`.
"""

from __future__ import annotations

from robots.documents.extraction import ExtractionActions


class Documents(ExtractionActions):
    """Read documents and extract what they hold: references, SIRET and SIREN, IBAN, dates, amounts."""

    name = "documents"
