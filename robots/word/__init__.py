"""The word robot: fill Word templates, convert documents to PDF."""

from robots.word.word import LIBREOFFICE_PACKAGE, Word

__all__ = [
    "LIBREOFFICE_PACKAGE",
    "Word",
]
