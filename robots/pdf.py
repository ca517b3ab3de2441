"""The `pdf` robot."""

from __future__ import annotations

from robots.base import Robot


class Pdf(Robot):
    """Read, merge, split and fill PDF files (pypdf)."""

    name = "pdf"
