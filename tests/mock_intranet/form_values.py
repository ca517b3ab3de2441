"""Reading submitted forms safely: text fields and uploaded files."""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from starlette.datastructures import FormData, UploadFile

_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
MAX_FILENAME_LENGTH = 200


@dataclass(frozen=True)
class UploadedFile:
    """A file sent with a form, read in full."""

    filename: str
    content_type: str
    content: bytes


class FileTooLarge(Exception):
    """The uploaded file is over the size limit."""


def form_text(form: FormData, name: str) -> str:
    """A text field's value; "" when absent or when a file was sent in its place."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def clean_filename(name: str) -> str:
    """The last component of a client-supplied file name, without control characters."""
    base = PurePosixPath(name.replace("\\", "/")).name
    base = _CONTROL_CHARACTERS.sub("", base).strip()
    return base[-MAX_FILENAME_LENGTH:] or "document"


async def read_upload(form: FormData, name: str, max_bytes: int) -> UploadedFile | None:
    """The file sent in field `name`, or None when no file was chosen; FileTooLarge over `max_bytes`."""
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    content = await upload.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise FileTooLarge(upload.filename)
    filename = clean_filename(upload.filename)
    content_type = upload.content_type or ""
    if not _CONTENT_TYPE.match(content_type) or content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return UploadedFile(filename, content_type, content)
