"""The mock mail server: aiosmtpd on 127.0.0.1, with STARTTLS and AUTH LOGIN/PLAIN, storing every message."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from .accounts import SMTP_ACCOUNTS, TestAccount
from .mail_store import MailStore
from .tls import CertificateFiles

START_TIMEOUT_SECONDS = 10.0
MAX_MESSAGE_BYTES = 32 * 1024 * 1024


class _DropLoginDataDeprecation(logging.Filter):
    """aiosmtpd warns about its own legacy attribute on every AUTH; that says nothing about the client."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_DropLoginDataDeprecation())


class _StoringHandler:
    """aiosmtpd handler: refuses unauthenticated senders when asked to, stores each message."""

    def __init__(self, store: MailStore, auth_required: bool) -> None:
        self.store = store
        self.auth_required = auth_required

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        # Enforced here rather than with aiosmtpd's auth_required, which warns when combined with
        # auth_require_tls=False, a combination the tests need.
        if self.auth_required and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        await asyncio.to_thread(
            self.store.save,
            raw,
            envelope.mail_from or "",
            [str(recipient) for recipient in envelope.rcpt_tos],
            session.auth_data if session.authenticated else None,
            session.ssl is not None,
        )
        return "250 2.0.0 Message accepted for delivery"


class MailServer:
    """An SMTP server running in a background thread on a free (or given) port of 127.0.0.1.

    Args:
        store: Where received messages go.
        certificate: Certificate for STARTTLS; None offers no STARTTLS.
        host: Address to listen on.
        port: Port to listen on; 0 picks a free one.
        accounts: Who may authenticate (AUTH LOGIN and PLAIN).
        auth_required: Refuse MAIL FROM until the client has authenticated.
        auth_require_tls: Refuse AUTH before STARTTLS (aiosmtpd's default); False allows AUTH in clear.
    """

    def __init__(
        self,
        store: MailStore,
        certificate: CertificateFiles | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        accounts: Iterable[TestAccount] = SMTP_ACCOUNTS,
        auth_required: bool = False,
        auth_require_tls: bool = True,
    ) -> None:
        self.store = store
        self.certificate = certificate
        self.host = host
        self.port = port
        self.passwords = {account.username: account.password for account in accounts if account.active}
        self.auth_required = auth_required
        self.auth_require_tls = auth_require_tls
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._protocols: set[SMTP] = set()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    def start(self) -> None:
        """Listen and serve in a background thread; return once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the mail server is already running")
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
        # without it each SMTP reply could wait ~40 ms (Nagle + delayed ACK).
        listening_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            listening_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listening_socket.bind((self.host, self.port))
            listening_socket.listen(100)
            listening_socket.setblocking(False)
        except BaseException:
            listening_socket.close()
            raise
        self.port = listening_socket.getsockname()[1]
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(
            target=self._serve, args=(listening_socket,), name=f"mock-smtp-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_SECONDS):
            raise TimeoutError(f"the mail server did not start within {START_TIMEOUT_SECONDS} s")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError("the mail server could not start") from self._startup_error

    def stop(self) -> None:
        """Close every connection and stop serving."""
        if self._thread is None:
            return
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = None

    def __enter__(self) -> MailServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        username = auth_data.login.decode("utf-8", errors="replace")
        password = auth_data.password.decode("utf-8", errors="replace")
        success = username in self.passwords and self.passwords[username] == password
        return AuthResult(success=success, handled=False, auth_data=username if success else None)

    def _make_protocol(self) -> SMTP:
        assert self._loop is not None
        protocol = SMTP(
            _StoringHandler(self.store, self.auth_required),
            hostname="mail.intranet.local",
            ident="Rob'O mock SMTP",
            data_size_limit=MAX_MESSAGE_BYTES,
            decode_data=False,
            tls_context=self.certificate.server_context() if self.certificate else None,
            authenticator=self._authenticate,
            auth_require_tls=self.auth_require_tls,
            loop=self._loop,
        )
        # Forget closed connections so a long-running server does not keep them all.
        self._protocols = {known for known in self._protocols if known.transport is not None}
        self._protocols.add(protocol)
        return protocol

    def _serve(self, listening_socket: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            try:
                server = loop.run_until_complete(
                    loop.create_server(self._make_protocol, sock=listening_socket)
                )
            except BaseException as error:
                self._startup_error = error
                listening_socket.close()
                self._ready.set()
                return
            self._ready.set()
            loop.run_forever()
            server.close()
            for protocol in self._protocols:
                if protocol.transport is not None:
                    protocol.transport.close()
            self._protocols.clear()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(server.wait_closed())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            self._loop = None
            asyncio.set_event_loop(None)
            loop.close()
