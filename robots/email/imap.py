"""The email robot's IMAP side: the connection (TLS checked, login, folder, errors named) and message searches.

`imap_session` is what every IMAP action uses: it yields a logged-in imap-tools mailbox on the chosen folder, and
turns what can go wrong into the robot kit's errors (a server that does not answer is an `ApplicationError`; a
refused login, a TLS mismatch or an unknown folder a `ConfigurationError`), naming the server as host:port.
`search` builds the IMAP search for the robot's criteria (a Message-ID among them); `envelope` and
`message_id_of` read what identifies a message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from typing import TYPE_CHECKING, Any

from robots.kit import (
    ApplicationError,
    ConfigurationError,
    RoboError,
    Security,
    _,
    connection_error,
)

if TYPE_CHECKING:
    from imap_tools import BaseMailBox, MailAttachment, MailMessage

IMAP_PORTS = {"none": 143, "starttls": 143, "ssl": 993}
FETCH_CHUNK = 100


@contextmanager
def imap_session(
    host: str,
    port: int,
    security: Security,
    tls: Any,
    timeout: float,
    *,
    user: str,
    password: str,
    folder: str | None,
) -> Iterator[BaseMailBox]:
    """A mailbox logged in as `user`, with `folder` selected (none when None), closed on exit."""
    import imaplib

    from imap_tools.errors import ImapToolsError

    where = f"{host}:{port}"
    mailbox = open_mailbox(host, port, security, tls, timeout)
    try:
        log_in(mailbox, user, password, where)
        if folder is not None:
            select_folder(mailbox, folder, user, where)
        yield mailbox
    except RoboError:
        raise
    except ImapToolsError as exc:
        raise ApplicationError(
            _("the IMAP server {server} refused a command: {problem}").format(server=where, problem=exc)
        ) from None
    except (imaplib.IMAP4.error, OSError) as exc:
        raise connection_error(
            exc, service="IMAP", host=host, port=port, timeout=timeout, security=security
        ) from None
    finally:
        close(mailbox)


def open_mailbox(host: str, port: int, security: Security, context: Any, timeout: float) -> BaseMailBox:
    """An imap-tools mailbox on a connection made here (plain, STARTTLS or TLS), not logged in yet."""
    import imaplib

    from imap_tools import BaseMailBox

    class _ConnectedMailBox(BaseMailBox):
        """imap-tools on an imaplib client this robot connected (and closes on failure)."""

        def __init__(self, client: imaplib.IMAP4) -> None:
            self._connected = client
            super().__init__()

        def _get_mailbox_client(self) -> imaplib.IMAP4:
            return self._connected

    client: imaplib.IMAP4 | None = None
    try:
        if security == "ssl":
            client = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=timeout)
        else:
            client = imaplib.IMAP4(host, port, timeout=timeout)
        if security == "starttls":
            client.starttls(context)
        return _ConnectedMailBox(client)
    except (imaplib.IMAP4.error, OSError) as exc:
        if client is not None:
            client.shutdown()
        if isinstance(exc, imaplib.IMAP4.error) and "STARTTLS" in str(exc):
            raise ConfigurationError(
                _("the IMAP server {host}:{port} does not offer STARTTLS: {problem}").format(
                    host=host, port=port, problem=exc
                ),
                hint=_("use security: ssl (usually port 993), or none on a local network"),
            ) from None
        raise connection_error(
            exc, service="IMAP", host=host, port=port, timeout=timeout, security=security
        ) from None


def log_in(mailbox: BaseMailBox, user: str, password: str, where: str) -> None:
    """Log in (in UTF-8 when the name or the password needs it); a refused login is a `ConfigurationError`."""
    from imap_tools.errors import MailboxLoginError

    try:
        if (user + password).isascii():
            mailbox.login(user, password, initial_folder=None)
        else:
            mailbox.login_utf8(user, password, initial_folder=None)
    except MailboxLoginError:
        raise ConfigurationError(
            _("the IMAP server {server} refused the login of {user}").format(server=where, user=repr(user)),
            hint=_("check the user name and the password secret"),
        ) from None


def folder_names(mailbox: BaseMailBox) -> str:
    """The mailbox's folders, sorted and joined, for a hint."""
    return ", ".join(sorted(info.name for info in mailbox.folder.list()))


def select_folder(mailbox: BaseMailBox, folder: str, user: str, where: str) -> None:
    """Select `folder`; an unknown one is a `ConfigurationError` listing the mailbox's folders."""
    from imap_tools.errors import MailboxFolderSelectError

    try:
        mailbox.folder.set(folder)
    except MailboxFolderSelectError:
        raise ConfigurationError(
            _("the mailbox {user} on the IMAP server {server} has no folder {folder}").format(
                user=user, server=where, folder=repr(folder)
            ),
            hint=_("its folders are: {folders}").format(folders=folder_names(mailbox)),
        ) from None


def close(mailbox: BaseMailBox) -> None:
    """Log out, or at least close the socket."""
    try:
        mailbox.logout()  # closes the socket too
    except Exception:  # the work is done or already failed: just close the socket
        with suppress(OSError):
            mailbox.client.shutdown()


def message_id_of(message: MailMessage) -> str:
    """The message's Message-ID header, without surrounding spaces ("" when it has none)."""
    return str((message.headers.get("message-id") or ("",))[0]).strip()  # type: ignore[no-untyped-call]


def envelope(message: MailMessage) -> dict[str, Any]:
    """Who sent a message to whom, when, about what, and its uid and Message-ID."""
    received = message.date
    return {
        "uid": message.uid,
        "message_id": message_id_of(message),
        "from": message.from_,
        "to": list(message.to),
        "cc": list(message.cc),
        "subject": message.subject,
        "date": "" if received.year == 1900 else received.isoformat(),
    }


def search(
    *,
    sender: str | None = None,
    subject: str | None = None,
    since: date | None = None,
    unseen: bool = False,
    message_id: str | None = None,
) -> tuple[Any, str]:
    """The IMAP search for these criteria, and the charset it needs."""
    from imap_tools import AND, H

    criteria: dict[str, Any] = {}
    if sender:
        criteria["from_"] = sender
    if subject:
        criteria["subject"] = subject
    if since:
        criteria["date_gte"] = since
    if unseen:
        criteria["seen"] = False
    if message_id:
        # A server compares headers by substring: the exact Message-ID is checked on what it returns.
        criteria["header"] = H("Message-ID", message_id.strip())
    query = AND(**criteria) if criteria else "ALL"
    return query, "US-ASCII" if str(query).isascii() else "UTF-8"


def summaries(box: BaseMailBox, query: Any, charset: str) -> list[MailMessage]:
    """The headers and sizes of the messages found by `query`, not their bodies."""
    return list(box.fetch(query, charset, mark_seen=False, headers_only=True, bulk=FETCH_CHUNK))


def attachments_of(message: MailMessage) -> list[MailAttachment]:
    """Every attachment of a message, those sent without a file name included (imap-tools leaves them out)."""
    from imap_tools import MailAttachment

    found = []
    for part in message.obj.walk():
        if part.get_content_maintype() == "multipart":
            continue
        named = part.get_filename() is not None or part.get("Content-ID") is not None
        if (
            named
            or part.get_content_disposition() == "attachment"
            or part.get_content_type() == "message/rfc822"
        ):
            found.append(MailAttachment(part))
    return found
