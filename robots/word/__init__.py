"""The word robot: fill Word templates, convert documents to PDF."""

from robots.word.libreoffice import LIBREOFFICE_PACKAGE
from robots.word.word import Word

__all__ = [
    "LIBREOFFICE_PACKAGE",
    "Word",
]
