"""The `word` robot."""

from __future__ import annotations

from robots.base import Robot


class Word(Robot):
    """Create and edit Word documents (python-docx, docxtpl)."""

    name = "word"
