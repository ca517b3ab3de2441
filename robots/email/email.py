"""The `email` robot: send mail over SMTP, read a mailbox over IMAP and file what arrives.

`send` takes bodies that the workflow has already rendered (`text: "{{ … }}"`), attaches files, and returns the
message's Message-ID, which is also logged so a sent mail can be traced. `read` finds messages by sender,
subject, date, unread state or Message-ID, saves their attachments into a folder (never replacing a file:
"facture (2).pdf"; the same bytes again are the file already saved), then marks them read or moves them, only once
everything was saved. `move` and `create_folder` (in `folders.py`) can be done again without harm, as a resumed
work item does; the IMAP connection and searches are `imap.py`.

TLS certificates are always checked, against the system's authorities or `ca_file`; `verify_tls: false` turns
the check off for a test server only. Errors name the server (host:port) and what to check: a server that does
not answer is an `ApplicationError` (retried); a refused login, a TLS mismatch or an unknown folder is a
`ConfigurationError`; an address that is not one, or a recipient the server refuses, is a `BusinessError`. So is a
line break (or another control character) from data in an address, a subject, a search or a folder name: it would
add a header, a recipient or a server command.
"""

from __future__ import annotations

import email.policy
import mimetypes
from datetime import date
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from robots.email.folders import FolderActions
from robots.email.imap import (
    FETCH_CHUNK,
    IMAP_PORTS,
    attachments_of,
    envelope,
    folder_names,
    imap_session,
    message_id_of,
    search,
)
from robots.email.support import (
    refuse_control_characters,
    safe_filename,
    save_new_file,
    split_addresses,
)
from robots.kit import (
    SMTP_PORTS,
    BusinessError,
    ConfigurationError,
    ConfinedPath,
    Seconds,
    Secret,
    Security,
    SmtpServer,
    _,
    action,
    format_number,
    ngettext,
    send_message,
)

if TYPE_CHECKING:
    from imap_tools import MailMessage

# Attachments are held in memory while saved: a message over this size is left for a person by default.
DEFAULT_MAX_SIZE_MB = 50.0
Megabytes = Annotated[float, Field(gt=0)]
# Headers folded at 78 characters lose the space between two encoded words in CPython's email package
# ("construire — pièces" arrives as "construire —pièces"); RFC 5322 allows lines of up to 998 characters.
_POLICY = email.policy.default.clone(max_line_length=998)


def _addresses_header(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(formataddr(pair) for pair in pairs)


class Email(FolderActions):
    """Send mail over SMTP and read a mailbox over IMAP (attachments saved to files)."""

    name = "email"

    @action(side_effects=True, together=[("user", "password")])
    def send(
        self,
        host: str,
        sender: str,
        to: str | list[str],
        subject: str,
        text: str | None = None,
        html: str | None = None,
        *,
        cc: str | list[str] | None = None,
        bcc: str | list[str] | None = None,
        reply_to: str | None = None,
        attachments: list[ConfinedPath] | None = None,
        port: Annotated[int, Field(ge=1, le=65535)] | None = None,
        security: Security = "starttls",
        user: str | None = None,
        password: Secret | None = None,
        ca_file: str | None = None,
        verify_tls: bool = True,
        timeout: Seconds = 30,
    ) -> str:
        """Send an email over SMTP, with a plain text body, an HTML body or both, and attached files.

        Args:
            host: The SMTP server, e.g. "smtp.mairie.fr".
            sender: The From address, e.g. "Service urbanisme <urbanisme@mairie.fr>".
            to: The recipients: one address, several separated by commas, or a list.
            subject: The subject line.
            text: The plain text body (already rendered by the workflow).
            html: The HTML body; mail readers show it instead of `text` when they can.
            cc: Recipients in copy (one address, several separated by commas, or a list).
            bcc: Hidden recipients: they receive the mail but appear in no header.
            reply_to: The address replies go to, when it is not the sender.
            attachments: Files to attach, each relative to the workflow's folder unless absolute.
            port: The server's port; by default 587 for starttls, 465 for ssl, 25 for none.
            security: How the connection is protected: "starttls" (plain, then TLS), "ssl" (TLS from the
                start) or "none" (a server on the local network only).
            user: The account to log in with; no login when absent.
            password: The account's password (a secret).
            ca_file: A PEM file of the certificate (or authority) to trust, for a server with its own certificate.
            verify_tls: Check the server's certificate; turn off only for a test server.
            timeout: Seconds to wait for the server at each exchange.

        Returns:
            The Message-ID of the sent message, e.g. "<173...@mairie.fr>".
        """
        from_pairs = split_addresses(sender, "sender")
        if len(from_pairs) != 1:
            raise BusinessError(_("sender: give one address, not {n}").format(n=len(from_pairs)))
        to_pairs = split_addresses(to, "to")
        cc_pairs = split_addresses(cc, "cc")
        bcc_pairs = split_addresses(bcc, "bcc")
        reply_pairs = split_addresses(reply_to, "reply_to")
        refuse_control_characters(subject, "subject", allow_tab=True)
        if not (to_pairs or cc_pairs or bcc_pairs):
            raise BusinessError(
                _("email.send: there is no recipient"), hint=_("give at least one address in to:")
            )
        files = [self.context.input_file(path, "attachment") for path in attachments or []]
        sender_address = from_pairs[0][1]
        message_id = make_msgid(domain=sender_address.rpartition("@")[2])

        message = EmailMessage(policy=_POLICY)
        message["From"] = _addresses_header(from_pairs)
        if to_pairs:
            message["To"] = _addresses_header(to_pairs)
        if cc_pairs:
            message["Cc"] = _addresses_header(cc_pairs)
        if reply_pairs:
            message["Reply-To"] = _addresses_header(reply_pairs)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = message_id
        if html is not None and text is None:
            message.set_content(html, subtype="html")
        else:
            message.set_content(text or "")
            if html is not None:
                message.add_alternative(html, subtype="html")
        for file in files:
            kind, encoding = mimetypes.guess_type(file.name)
            if kind is None or encoding is not None:
                kind = "application/octet-stream"
            maintype, _slash, subtype = kind.partition("/")
            # The name goes into a header: a file named with a line break would break it.
            name = safe_filename(file.name)
            message.add_attachment(file.read_bytes(), maintype=maintype, subtype=subtype, filename=name)

        port = port or SMTP_PORTS[security]
        recipients = [address for _name, address in (*to_pairs, *cc_pairs, *bcc_pairs)]
        server = SmtpServer(
            host,
            port,
            security,
            user=user,
            password=password,
            tls=self._tls(security, ca_file, verify_tls),
            timeout=timeout,
        )
        refused = send_message(server, message, sender=sender_address, recipients=recipients)
        delivered = len(recipients) - len(refused)
        self.context.log(
            ngettext(
                "sent {subject} to {n} recipient through {host}:{port}, Message-ID {message_id}",
                "sent {subject} to {n} recipients through {host}:{port}, Message-ID {message_id}",
                delivered,
            ).format(subject=repr(subject), n=delivered, host=host, port=port, message_id=message_id)
        )
        if refused:
            raise BusinessError(
                _(
                    "the mail server refused {addresses}; message {message_id} went to the other recipients"
                ).format(addresses=", ".join(refused), message_id=message_id),
                hint=_("check these addresses"),
                cause=[f"{address}: {code} {reply!r}" for address, (code, reply) in refused.items()],
            )
        return message_id

    @action(side_effects=True, at_most_one=[("headers_only", "save_attachments_to")])
    def read(
        self,
        host: str,
        user: str,
        password: Secret,
        folder: str = "INBOX",
        *,
        sender: str | None = None,
        subject: str | None = None,
        since: date | None = None,
        unseen: bool = False,
        message_id: str | None = None,
        limit: Annotated[int, Field(ge=1)] | None = None,
        save_attachments_to: ConfinedPath | None = None,
        max_size: Megabytes = DEFAULT_MAX_SIZE_MB,
        headers_only: bool = False,
        mark_as_read: bool = False,
        move_to: str | None = None,
        port: Annotated[int, Field(ge=1, le=65535)] | None = None,
        security: Security = "ssl",
        ca_file: str | None = None,
        verify_tls: bool = True,
        timeout: Seconds = 30,
    ) -> list[dict[str, Any]]:
        """Read the messages of a mailbox folder over IMAP, save their attachments, then mark or move them.

        Messages are marked read or moved only once all their attachments are saved, so a run that stops
        half-way leaves them to be read again; reading them again saves nothing twice (an attachment already in
        the folder with the same bytes is the one kept).

        Args:
            host: The IMAP server, e.g. "imap.mairie.fr".
            user: The mailbox account.
            password: The account's password (a secret).
            folder: The folder to read, e.g. "INBOX" or "INBOX/Factures".
            sender: Only messages from this address (or a part of it, e.g. "@impots.gouv.fr").
            subject: Only messages whose subject contains this text.
            since: Only messages received on or after this date.
            unseen: Only messages not yet read.
            message_id: Only the message with this Message-ID, e.g. "<173...@mairie.fr>" (none when it is no
                longer in the folder).
            limit: At most this many messages (the oldest first).
            save_attachments_to: A folder to save the attachments into; a file of the same name and other bytes
                is kept and the new one is named "name (2).ext"; one with the same bytes is the one returned.
            max_size: Messages larger than this many megabytes are not downloaded: their record says
                `too_large` and they are neither marked nor moved.
            headers_only: Fetch only who sent what to whom, when, the Message-ID and the size: no text, no
                attachment (quick, to list a large mailbox before handling each message).
            mark_as_read: Mark the messages read once handled.
            move_to: A folder to move the messages into once handled, e.g. "Traités" (it must exist).
            port: The server's port; by default 993 for ssl, 143 otherwise.
            security: How the connection is protected: "ssl" (TLS from the start), "starttls" or "none".
            ca_file: A PEM file of the certificate (or authority) to trust, for a server with its own certificate.
            verify_tls: Check the server's certificate; turn off only for a test server.
            timeout: Seconds to wait for the server at each exchange.

        Returns:
            One record per message, oldest first: uid, message_id, from, to, cc, subject, date (ISO 8601),
            size (bytes), too_large, text, html, attachments (the saved files' paths) and attachment_names.
        """
        from imap_tools import MailMessageFlags

        for role, value in (
            ("folder", folder),
            ("sender", sender),
            ("subject", subject),
            ("message_id", message_id),
            ("move_to", move_to),
        ):
            if value:  # sent inside IMAP commands: a line break would add a command
                refuse_control_characters(value, role)
        if message_id is not None and not message_id.strip():
            # Read as "every message", it would save a whole mailbox where one message's files were expected.
            raise BusinessError(
                _("email.read: the Message-ID is empty"),
                hint=_(
                    "give the message_id of a message read by email.read, or leave it out to read them all"
                ),
            )
        port = port or IMAP_PORTS[security]
        where = f"{host}:{port}"
        target = self.context.resolve_path(save_attachments_to) if save_attachments_to else None
        query, charset = search(
            sender=sender, subject=subject, since=since, unseen=unseen, message_id=message_id
        )
        tls = self._tls(security, ca_file, verify_tls)
        with imap_session(
            host, port, security, tls, timeout, user=user, password=password, folder=folder
        ) as box:
            if move_to and not box.folder.exists(move_to):
                raise ConfigurationError(
                    _("the mailbox {user} on the IMAP server {server} has no folder {folder}").format(
                        user=user, server=where, folder=repr(move_to)
                    ),
                    hint=_("create it first; its folders are: {folders}").format(folders=folder_names(box)),
                )
            heads = [
                head
                for head in box.fetch(
                    query, charset, limit=limit, mark_seen=False, headers_only=True, bulk=FETCH_CHUNK
                )
                if message_id is None or message_id_of(head) == message_id.strip()
            ]
            limit_bytes = int(max_size * 1024 * 1024)
            records: list[dict[str, Any]] = []
            uids: list[str] = []
            for head in heads:
                if head.size_rfc822 > limit_bytes:
                    records.append(self._too_large(head, max_size))
                    continue
                if headers_only:
                    records.append(self._record(head, None, headers_only=True))
                    uids.extend([head.uid] if head.uid else [])
                    continue
                whole = next(iter(box.fetch(f"UID {head.uid}", mark_seen=False)), None) if head.uid else None
                if whole is None or not head.uid:  # gone meanwhile (moved by another client)
                    continue
                records.append(self._record(whole, target))
                uids.append(head.uid)
            if mark_as_read and uids:
                box.flag(uids, MailMessageFlags.SEEN, True)
            if move_to and uids:
                box.move(uids, move_to)
        if move_to and records:
            read = ngettext(
                "read {n} message from {folder} on {host}:{port}, moved to {move_to}",
                "read {n} messages from {folder} on {host}:{port}, moved to {move_to}",
                len(records),
            )
        else:
            read = ngettext(
                "read {n} message from {folder} on {host}:{port}",
                "read {n} messages from {folder} on {host}:{port}",
                len(records),
            )
        self.context.log(read.format(n=len(records), folder=folder, host=host, port=port, move_to=move_to))
        return records

    def _too_large(self, head: MailMessage, max_size: float) -> dict[str, Any]:
        self.context.log(
            _(
                "warning: the message {subject} ({size} MB) is over max_size ({limit} MB): not downloaded"
            ).format(
                subject=repr(head.subject),
                size=format_number(head.size_rfc822 / (1024 * 1024), decimals=1),
                limit=format_number(max_size),
            )
        )
        return {
            **envelope(head),
            "size": head.size_rfc822,
            "too_large": True,
            "text": "",
            "html": "",
            "attachments": [],
            "attachment_names": [],
        }

    def _record(
        self, message: MailMessage, folder: Path | None, headers_only: bool = False
    ) -> dict[str, Any]:
        names = []
        saved = []
        for attachment in [] if headers_only else attachments_of(message):
            extension = mimetypes.guess_extension(attachment.content_type or "") or ""
            name = safe_filename(attachment.filename, fallback=f"piece-jointe{extension}")
            names.append(name)
            if folder is not None:
                path, written = save_new_file(folder, name, attachment.payload, self.context.run_id)
                if written:
                    self.context.record_artifact(
                        path, "download", _("attachment of {subject}").format(subject=repr(message.subject))
                    )
                saved.append(str(path.resolve()))
        return {
            **envelope(message),
            "size": message.size_rfc822,
            "too_large": False,
            "text": "" if headers_only else message.text,
            "html": "" if headers_only else message.html,
            "attachments": saved,
            "attachment_names": names,
        }
