"""What the email robot's SMTP and IMAP sides share.

Addresses and header values checked, and saving received attachments without overwriting anything (TLS contexts
and the errors naming a mail server are the robot kit's, `robots.kit.mail`).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from contextlib import suppress
from email.utils import getaddresses
from pathlib import Path

from robots.kit import BusinessError, _, numbered_name, place, temporary_path

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)
# What may not reach a mail header from data: CR and LF would start a new header (a "Bcc:" added by a cell), and
# Python's email package also breaks lines at the other C0 and C1 controls and at U+2028/U+2029.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SHOWN_LENGTH = 80
_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")
MAX_NAME_LENGTH = 150


def refuse_control_characters(value: str, role: str, *, allow_tab: bool = False) -> None:
    """Raise a `BusinessError` naming `role` when `value` holds a line break or another control character."""
    for found in _CONTROL.finditer(value):
        if allow_tab and found.group() == "\t":
            continue
        shown = repr(value[:_SHOWN_LENGTH]) + ("…" if len(value) > _SHOWN_LENGTH else "")
        raise BusinessError(
            _(
                "{role}: {value} holds a control character ({character} at position {position}), "
                "which may not reach a mail header or a mail server's command"
            ).format(role=role, value=shown, character=repr(found.group()), position=found.start() + 1),
            hint=_(
                "a line break in an address or a subject would add headers, recipients or commands: "
                "clean the value in the data (e.g. {example})"
            ).format(example="| replace('\\n', ' ') | trim"),
        )


def split_addresses(value: str | Iterable[str] | None, role: str) -> list[tuple[str, str]]:
    """(display name, address) pairs from "a@x.fr, B <b@y.fr>; c@z.fr" or a list; raises a `BusinessError`."""
    if value is None:
        return []
    texts = [value] if isinstance(value, str) else list(value)
    pairs = []
    for text in texts:
        refuse_control_characters(str(text), role)
        # Outlook users separate addresses with ";": accept it beside RFC 5322's ",".
        found = getaddresses([str(text).replace(";", ",")])
        if ("", "") in found:
            # Python's parser gives ("", "") for what it cannot read: find which piece it was.
            for piece in re.split(r"[,;]", str(text)):
                if piece.strip() and getaddresses([piece]) in ([], [("", "")]):
                    raise _not_an_address(role, piece)
        for name, address in found:
            if not name and not address:
                continue  # an empty piece between two separators
            if not _ADDRESS.match(address):
                raise _not_an_address(role, address if address and " " not in address else str(text))
            pairs.append((name, address))
    return pairs


def _not_an_address(role: str, text: str) -> BusinessError:
    return BusinessError(
        _("{role}: {text} is not an email address").format(role=role, text=repr(text.strip())),
        hint=_('write "{address}" or "{named_address}"').format(
            address="nom@domaine.fr", named_address="Nom Prénom <nom@domaine.fr>"
        ),
    )


def safe_filename(name: str | None, fallback: str = "piece-jointe") -> str:
    """A file name that is safe on Linux and Windows: no folders, no reserved characters, not too long."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = _UNSAFE.sub("_", text).strip().strip(".").strip()
    if not text:
        text = fallback
    if _RESERVED.match(text):
        text = f"_{text}"
    if len(text) > MAX_NAME_LENGTH:
        stem, dot, suffix = text.rpartition(".")
        suffix = suffix[:20] if dot and stem else ""
        text = text[: MAX_NAME_LENGTH - len(suffix) - 1].rstrip() + (f".{suffix}" if suffix else "")
    return text


def _same_bytes(path: Path, content: bytes) -> bool:
    try:
        return path.is_file() and path.stat().st_size == len(content) and path.read_bytes() == content
    except OSError:
        return False


def save_new_file(folder: Path, name: str, content: bytes, run_id: str | None = None) -> tuple[Path, bool]:
    """Write `content` under `name` in `folder`, or "name (2).ext" and so on: never replacing a file.

    A file there with the same bytes, under the name or one of its numbered versions, is the document already
    saved (a run resumed, a mail read again): its path is returned and nothing is written. The bytes go to a
    hidden temporary file first, then get their final name in one step, so a file that has its name is always
    complete. Returns the path and whether a file was written.
    """
    folder.mkdir(parents=True, exist_ok=True)

    def taken(path: Path) -> bool:
        return path.exists() and not _same_bytes(path, content)

    def free_or_same(path: Path) -> Path:
        return numbered_name(path, taken) if taken(path) else path

    target = free_or_same(folder / name)
    if target.exists():
        return target, False
    temporary = temporary_path(folder / "attachment", run_id)  # not its name: it may be at the length limit
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with open(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        while True:
            try:
                place(temporary, target)  # fails when the name is taken, unlike a rename
                return target, True
            except FileExistsError:  # another writer took the name meanwhile
                if _same_bytes(target, content):
                    return target, False
                target = free_or_same(folder / name)
    finally:
        with suppress(FileNotFoundError):
            temporary.unlink()
