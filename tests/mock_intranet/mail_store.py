"""Received mail: one .eml file (the raw bytes, untouched) and one .json envelope per message.

A folder of files survives restarts, and both the SMTP server and the web app (or a test) can read it.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from typing import Any

_MAIL_ID = re.compile(r"^[0-9]{20}-[0-9a-f]{8}$")


@dataclass(frozen=True)
class MailAttachment:
    """A part of a message with a file name or an attachment disposition."""

    filename: str | None
    content_type: str
    content: bytes

    @property
    def size(self) -> int:
        """Size in bytes once decoded."""
        return len(self.content)

    def to_json(self, include_content: bool = False) -> dict[str, Any]:
        """Name, type, size and SHA-256; the bytes in base64 when asked."""
        data: dict[str, Any] = {
            "nom_fichier": self.filename,
            "type_contenu": self.content_type,
            "taille": self.size,
            "sha256": hashlib.sha256(self.content).hexdigest(),
        }
        if include_content:
            data["contenu_base64"] = base64.b64encode(self.content).decode("ascii")
        return data


@dataclass(frozen=True)
class StoredMail:
    """A received message: the SMTP envelope and the raw bytes, parsed on demand."""

    id: str
    received_at: datetime
    envelope_from: str
    envelope_to: list[str]
    authenticated_as: str | None
    tls: bool
    raw: bytes = field(repr=False)

    @cached_property
    def message(self) -> EmailMessage:
        """The parsed message (email.policy.default)."""
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def header(self, name: str) -> str:
        """A header's decoded value, or "" when absent or unreadable."""
        try:
            value = self.message[name]
        except (ValueError, IndexError):
            return ""
        return "" if value is None else str(value)

    @property
    def subject(self) -> str:
        """The decoded Subject header."""
        return self.header("Subject")

    def body(self, subtype: str = "plain") -> str:
        """The text body ("plain" or "html"), or "" when the message has none."""
        try:
            part = self.message.get_body(preferencelist=(subtype,))
            return "" if part is None else str(part.get_content()).replace("\r\n", "\n")
        except (LookupError, ValueError, KeyError):
            return ""

    @cached_property
    def attachments(self) -> list[MailAttachment]:
        """The attached files, decoded."""
        found = []
        for part in self.message.iter_attachments():
            payload = part.get_payload(decode=True)
            found.append(
                MailAttachment(
                    part.get_filename(),
                    part.get_content_type(),
                    payload if isinstance(payload, bytes) else b"",
                )
            )
        return found

    def to_json(self, include_content: bool = False) -> dict[str, Any]:
        """Envelope, headers, bodies and attachments, as the test API returns them."""
        return {
            "id": self.id,
            "recu_le": self.received_at.isoformat(timespec="seconds"),
            "expediteur_enveloppe": self.envelope_from,
            "destinataires_enveloppe": self.envelope_to,
            "authentifie_en_tant_que": self.authenticated_as,
            "tls": self.tls,
            "de": self.header("From"),
            "a": self.header("To"),
            "cc": self.header("Cc"),
            "objet": self.subject,
            "date": self.header("Date"),
            "message_id": self.header("Message-ID"),
            "texte": self.body("plain"),
            "html": self.body("html"),
            "pieces_jointes": [attachment.to_json(include_content) for attachment in self.attachments],
            "taille": len(self.raw),
        }


class MailStore:
    """The folder of received messages."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def save(
        self,
        raw: bytes,
        envelope_from: str,
        envelope_to: list[str],
        authenticated_as: str | None = None,
        tls: bool = False,
    ) -> StoredMail:
        """Store a message; the envelope file is written last, so a message is listed only once complete."""
        mail_id = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        received_at = datetime.now().replace(microsecond=0)
        self._write_atomically(self.root / f"{mail_id}.eml", raw)
        envelope = {
            "recu_le": received_at.isoformat(),
            "expediteur": envelope_from,
            "destinataires": envelope_to,
            "authentifie_en_tant_que": authenticated_as,
            "tls": tls,
        }
        self._write_atomically(self.root / f"{mail_id}.json", json.dumps(envelope).encode())
        return StoredMail(mail_id, received_at, envelope_from, envelope_to, authenticated_as, tls, raw)

    def all(self) -> list[StoredMail]:
        """Every message, oldest first."""
        mails = []
        for envelope_path in sorted(self.root.glob("*.json")):
            mail = self.get(envelope_path.stem)
            if mail is not None:
                mails.append(mail)
        return mails

    def count(self) -> int:
        """How many messages are stored."""
        return sum(1 for _ in self.root.glob("*.json"))

    def get(self, mail_id: str) -> StoredMail | None:
        """The message with this id, or None (also for a malformed id)."""
        if not _MAIL_ID.match(mail_id):
            return None
        try:
            envelope = json.loads((self.root / f"{mail_id}.json").read_text(encoding="utf-8"))
            raw = (self.root / f"{mail_id}.eml").read_bytes()
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return StoredMail(
            mail_id,
            datetime.fromisoformat(envelope["recu_le"]),
            envelope["expediteur"],
            list(envelope["destinataires"]),
            envelope["authentifie_en_tant_que"],
            bool(envelope["tls"]),
            raw,
        )

    def wait_for(self, count: int, timeout: float = 5.0) -> list[StoredMail]:
        """Poll until at least `count` messages are stored; raise TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if self.count() >= count:
                return self.all()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.count()} message(s) received after {timeout} s, {count} expected")
            time.sleep(0.02)

    def clear(self) -> None:
        """Delete every message."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _write_atomically(path: Path, content: bytes) -> None:
        partial = path.with_suffix(path.suffix + ".partiel")
        partial.write_bytes(content)
        os.replace(partial, path)
