"""The email robot's folders: moving a message by its Message-ID, creating a folder; both safe to do again.

A run resumed after a crash does again what it may have done already: moving a message that is already in its
target folder, or creating a folder that exists, is no error and changes nothing. The TLS context of a mail
server (shared with the SMTP side) is made here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from robots.email.imap import (
    IMAP_PORTS,
    folder_names,
    imap_session,
    message_id_of,
    search,
    select_folder,
    summaries,
)
from robots.email.support import refuse_control_characters
from robots.kit import (
    BusinessError,
    ConfigurationError,
    Robot,
    Seconds,
    Secret,
    Security,
    _,
    action,
    tls_context,
)


class FolderActions(Robot):
    """Move messages and create folders over IMAP (mixed into the email robot)."""

    def _tls(self, security: Security, ca_file: str | None, verify_tls: bool) -> Any:
        """The TLS context for a mail server (None without TLS); warns when the certificate goes unchecked."""
        if security == "none":
            return None
        if not verify_tls:
            self.context.log(
                _("warning: the mail server's TLS certificate is not checked (verify_tls: false)")
            )
        return tls_context(self.context.resolve_path(ca_file) if ca_file else None, verify_tls)

    @action(side_effects=True, idempotent=True)
    def move(
        self,
        host: str,
        user: str,
        password: Secret,
        message_id: str,
        to: str,
        folder: str = "INBOX",
        *,
        create: bool = True,
        port: Annotated[int, Field(ge=1, le=65535)] | None = None,
        security: Security = "ssl",
        ca_file: str | None = None,
        verify_tls: bool = True,
        timeout: Seconds = 30,
    ) -> dict[str, Any]:
        """Move a message, found by its Message-ID, into another folder; one already there is left as it is.

        Moving again a message that is already in the target folder is no error (a run resumed after a crash
        does it again): the result says it was there.

        Args:
            host: The IMAP server, e.g. "imap.mairie.fr".
            user: The mailbox account.
            password: The account's password (a secret).
            message_id: The message's Message-ID, e.g. "<173...@mairie.fr>" (the `message_id` of `email.read`).
            to: The folder to move it into, e.g. "Classé".
            folder: The folder it is in, e.g. "INBOX".
            create: Create the target folder when the mailbox has none of that name.
            port: The server's port; by default 993 for ssl, 143 otherwise.
            security: How the connection is protected: "ssl" (TLS from the start), "starttls" or "none".
            ca_file: A PEM file of the certificate (or authority) to trust, for a server with its own certificate.
            verify_tls: Check the server's certificate; turn off only for a test server.
            timeout: Seconds to wait for the server at each exchange.

        Returns:
            moved (how many copies of the message were moved: 0 when it was already there), already_there
            (true when it was found in the target folder) and folder (the target).
        """
        for role, value in (("message_id", message_id), ("to", to), ("folder", folder)):
            refuse_control_characters(value, role)
        if not message_id.strip():
            raise BusinessError(
                _("email.move: the Message-ID is empty"),
                hint=_("give the message_id of a message read by email.read"),
            )
        port = port or IMAP_PORTS[security]
        where = f"{host}:{port}"
        wanted = message_id.strip()
        query, charset = search(message_id=wanted)
        tls = self._tls(security, ca_file, verify_tls)
        with imap_session(
            host, port, security, tls, timeout, user=user, password=password, folder=None
        ) as box:
            if not box.folder.exists(to):
                if not create:
                    raise ConfigurationError(
                        _("the mailbox {user} on the IMAP server {server} has no folder {folder}").format(
                            user=user, server=where, folder=repr(to)
                        ),
                        hint=_("create it first; its folders are: {folders}").format(
                            folders=folder_names(box)
                        ),
                    )
                box.folder.create(to)
                self.context.log(
                    _("created the folder {folder} in the mailbox {user}").format(folder=repr(to), user=user)
                )
            select_folder(box, folder, user, where)
            uids = [
                head.uid
                for head in summaries(box, query, charset)
                if message_id_of(head) == wanted and head.uid
            ]
            if uids:
                box.move(uids, to)
                self.context.log(
                    _("moved the message {message_id} from {folder} to {to}").format(
                        message_id=wanted, folder=repr(folder), to=repr(to)
                    )
                )
                return {"moved": len(uids), "already_there": False, "folder": to}
            select_folder(box, to, user, where)
            there = any(message_id_of(head) == wanted for head in summaries(box, query, charset))
        if not there:
            raise BusinessError(
                _("the message {message_id} is neither in {folder} nor in {to} of the mailbox {user}").format(
                    message_id=wanted, folder=repr(folder), to=repr(to), user=user
                ),
                hint=_("it may have been moved or deleted by someone else: look for it in the mailbox"),
            )
        self.context.log(
            _("the message {message_id} is already in {to}: nothing to move").format(
                message_id=wanted, to=repr(to)
            )
        )
        return {"moved": 0, "already_there": True, "folder": to}

    @action(side_effects=True, idempotent=True)
    def create_folder(
        self,
        host: str,
        user: str,
        password: Secret,
        name: str,
        *,
        port: Annotated[int, Field(ge=1, le=65535)] | None = None,
        security: Security = "ssl",
        ca_file: str | None = None,
        verify_tls: bool = True,
        timeout: Seconds = 30,
    ) -> bool:
        """Create a folder in the mailbox, unless it has one of that name already.

        Args:
            host: The IMAP server, e.g. "imap.mairie.fr".
            user: The mailbox account.
            password: The account's password (a secret).
            name: The folder, e.g. "Classé" or "INBOX/Factures" (accents allowed).
            port: The server's port; by default 993 for ssl, 143 otherwise.
            security: How the connection is protected: "ssl" (TLS from the start), "starttls" or "none".
            ca_file: A PEM file of the certificate (or authority) to trust, for a server with its own certificate.
            verify_tls: Check the server's certificate; turn off only for a test server.
            timeout: Seconds to wait for the server at each exchange.

        Returns:
            true when the folder was created, false when it was there already.
        """
        refuse_control_characters(name, "name")
        if not name.strip():
            raise BusinessError(_("email.create_folder: the folder name is empty"))
        port = port or IMAP_PORTS[security]
        tls = self._tls(security, ca_file, verify_tls)
        with imap_session(
            host, port, security, tls, timeout, user=user, password=password, folder=None
        ) as box:
            if box.folder.exists(name):
                return False
            box.folder.create(name)
        self.context.log(
            _("created the folder {folder} in the mailbox {user}").format(folder=repr(name), user=user)
        )
        return True
