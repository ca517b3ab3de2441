"""Why a document could not be read, as a code and details that cross the process boundary, then as an error.

The reading process raises a `Refusal` (a code and plain values); the robot's process turns it into the
`RoboError` a person reads, in the run's language, with the file's name and a hint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from robots.kit.errors import ApplicationError, BusinessError, ConfigurationError, RoboError
from robots.kit.formats import format_duration, format_number
from robots.kit.i18n import _, ngettext

READABLE_SUFFIXES = (
    ".pdf",
    ".docx",
    ".odt",
    ".txt",
    ".text",
    ".md",
    ".csv",
    ".tsv",
    ".eml",
    ".msg",
    ".png",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
)
"""The file types whose text can be read."""


@dataclass
class Refusal(Exception):
    """A document that cannot be read, and why: `code` names the reason, `details` holds plain values."""

    code: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.details}"


def refusal_error(refusal: Refusal, name: str) -> RoboError:
    """The error a person reads for `refusal` of the document `name`."""
    details = refusal.details
    reason = str(details.get("reason", ""))
    cause = [reason] if reason else []
    if refusal.code == "unsupported":
        return BusinessError(
            _("{name}: the text of a {suffix} file cannot be read").format(
                name=name, suffix=details["suffix"]
            )
            if details.get("suffix")
            else _("{name}: a file without an extension cannot be read as a document").format(name=name),
            hint=_("readable types: {types}").format(types=", ".join(READABLE_SUFFIXES)),
        )
    if refusal.code == "encrypted":
        return BusinessError(
            _("{name} is protected by a password").format(name=name),
            hint=_("ask for an unprotected copy of the document"),
        )
    if refusal.code == "too-many-pages":
        return BusinessError(
            ngettext(
                "{name} has {pages} page, more than the limit of {limit}",
                "{name} has {pages} pages, more than the limit of {limit}",
                int(details["pages"]),
            ).format(name=name, pages=format_number(details["pages"]), limit=format_number(details["limit"])),
            hint=_(
                "raise `max_pages` on the step if the document is expected, or split it first (pdf.split)"
            ),
        )
    if refusal.code == "too-big":
        return BusinessError(
            _("{name} unpacks to more than {limit} MB: it is not a normal document (a zip bomb?)").format(
                name=name, limit=format_number(details["limit"])
            ),
            hint=_("ask the sender for the document again; do not open this one"),
        )
    if refusal.code == "image-too-big":
        return BusinessError(
            _("{name} is an image of {pixels} million pixels, too big to read").format(
                name=name, pixels=format_number(round(int(details["pixels"]) / 1_000_000))
            ),
            hint=_("scan the document again at 300 dpi"),
        )
    if refusal.code == "memory":
        return BusinessError(
            _("{name} needs more than {limit} MB of memory to be read").format(
                name=name, limit=format_number(details["limit"])
            ),
            hint=_("check the document (a damaged or hostile file?), or raise `memory_mb` on the step"),
            cause=cause,
        )
    if refusal.code == "timeout":
        return ApplicationError(
            _("{name} was not read within {duration}").format(
                name=name, duration=format_duration(float(details["seconds"]))
            ),
            hint=_(
                "a scanned page takes a few seconds to read: raise `timeout` on the step, or lower `max_pages`"
            ),
        )
    if refusal.code == "stopped":
        return ApplicationError(
            _("the process reading {name} stopped unexpectedly").format(name=name),
            hint=_("the document may be damaged or hostile: open it on your computer to check it"),
            cause=cause,
        )
    if refusal.code == "no-ocr":
        return ConfigurationError(
            _("{name} is a scan, and Tesseract (the OCR engine) is not ready: {reason}").format(
                name=name, reason=reason
            ),
            hint=_(
                "install it with its French and English data: make sysdeps "
                "(apt-get install tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng)"
            ),
        )
    return BusinessError(
        _("{name} cannot be read as {kind}: it is damaged or not what its name says").format(
            name=name, kind=details.get("kind", "?")
        ),
        hint=_("check that the file opens on your computer and was completely received"),
        cause=cause,
    )
