"""The text of e-mails: .eml (the standard library's parser) and Outlook's .msg (extract-msg).

The text starts with the headers a person looks at (subject, sender, recipients, date), then the body: the plain
text part, or the HTML part turned into text; attachments are named at the end.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from robots.kit.reading.record import DocumentKind, DocumentText, ReadingLimits, guess_language
from robots.kit.reading.refusals import Refusal

_BLANK_LINES = re.compile(r"\n\s*\n\s*(\n\s*)+")


def html_to_text(html: str) -> str:
    """The text a person sees in an HTML body: scripts and styles dropped, one line per block."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["script", "style", "head", "title"]):
        hidden.decompose()
    text = soup.get_text("\n")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _mail_text(headers: list[tuple[str, str]], body: str, attachments: list[str]) -> str:
    lines = [f"{name}: {value}" for name, value in headers if value]
    lines.extend(["", body.strip()])
    if attachments:
        lines.extend(["", "Attachments: " + ", ".join(attachments)])
    return "\n".join(lines)


def read_eml(path: Path, limits: ReadingLimits) -> DocumentText:
    """Subject, From, To, Date, then the body (plain text preferred, else the HTML part as text)."""
    try:
        with path.open("rb") as handle:
            message = email.message_from_binary_file(handle, policy=email.policy.default)
        if not isinstance(message, EmailMessage) or not message.keys():
            raise ValueError("no mail headers")
        part = message.get_body(preferencelist=("plain", "html"))
        body = ""
        if part is not None:
            content = part.get_content()
            body = html_to_text(content) if part.get_content_subtype() == "html" else str(content)
        attachments = [
            attachment.get_filename() or attachment.get_content_type()
            for attachment in message.iter_attachments()
        ]
        headers = [(name, str(message.get(name, ""))) for name in ("Subject", "From", "To", "Date")]
    except (ValueError, LookupError, UnicodeError, AttributeError, TypeError) as exc:
        raise Refusal("damaged", {"kind": "eml", "reason": str(exc)}) from None
    text = _mail_text(headers, body, attachments)[: limits.max_characters]
    return DocumentText(text, pages=1, kind=DocumentKind.EMAIL, language=guess_language(body))


def read_msg(path: Path, limits: ReadingLimits) -> DocumentText:
    """An Outlook message: subject, sender, recipients, date, then its body."""
    import extract_msg

    try:
        message: Any = extract_msg.openMsg(str(path))
    except Exception as exc:  # extract-msg raises its own and olefile's errors for a damaged file
        if isinstance(exc, MemoryError):
            raise
        raise Refusal("damaged", {"kind": "msg", "reason": f"{type(exc).__name__}: {exc}"}) from None
    try:
        body = message.body or ""
        if not body.strip() and message.htmlBody:
            body = html_to_text(message.htmlBody.decode("utf-8", errors="replace"))
        attachments = [
            str(getattr(item, "longFilename", None) or getattr(item, "name", ""))
            for item in message.attachments
        ]
        headers = [
            ("Subject", message.subject or ""),
            ("From", message.sender or ""),
            ("To", message.to or ""),
            ("Date", str(message.date or "")),
        ]
    finally:
        message.close()
    text = _mail_text(headers, body, [name for name in attachments if name])[: limits.max_characters]
    return DocumentText(text, pages=1, kind=DocumentKind.EMAIL, language=guess_language(body))
