"""The files robot: find, copy, move, rename, archive and sort files, never overwriting by accident."""

from robots.files.files import Files

__all__ = [
    "Files",
]
