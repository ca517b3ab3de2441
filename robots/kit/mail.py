"""Send one email over SMTP: the email robot's `send` action and the schedule service's notifications.

`SmtpServer` holds how to reach the server (host, port, `security`, login, TLS context, timeout); `send_message`
connects, switches to TLS, logs in and sends, then translates whatever smtplib or the network raised into Rob'O's
errors, each naming the server and what to check: a server that does not answer is an `ApplicationError`
(retried); a refused login, a TLS mismatch or a missing STARTTLS is a `ConfigurationError`; a recipient or a
message the server refuses is a `BusinessError`. `tls_context` and `connection_error` serve the IMAP side of the
email robot too. The original exception stays the translated one's `__cause__`.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from robots.kit.errors import ApplicationError, BusinessError, ConfigurationError, RoboError

Security = Literal["none", "starttls", "ssl"]

SMTP_PORTS: dict[Security, int] = {"none": 25, "starttls": 587, "ssl": 465}


@dataclass(frozen=True)
class SmtpServer:
    """How to reach an SMTP server; no login when `user` is None, `tls` is unused when `security` is "none"."""

    host: str
    port: int
    security: Security = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: ssl.SSLContext | None = None
    timeout: float = 30.0

    @property
    def where(self) -> str:
        """`SMTP server host:port`, as the errors name it."""
        return f"SMTP server {self.host}:{self.port}"


def tls_context(ca_file: Path | None, verify: bool) -> ssl.SSLContext:
    """A client TLS context: the system's authorities (or `ca_file`'s), host names checked unless `verify` is off."""
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_file is not None and not ca_file.is_file():
        raise ConfigurationError(
            f"certificate file not found: {ca_file}",
            hint="ca_file is the PEM file of the server's certificate or of the authority that signed it",
        )
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigurationError(
            f"{ca_file} is not a PEM certificate file", hint="ca_file must hold certificates in PEM format"
        ) from exc


def send_message(
    server: SmtpServer,
    message: EmailMessage,
    *,
    sender: str | None = None,
    recipients: Sequence[str] | None = None,
) -> dict[str, tuple[int, bytes]]:
    """Send `message` to `recipients` (by default its To, Cc and Bcc headers); returns the refused recipients.

    Raises a `RoboError` when nothing was sent: every recipient refused, a refused login, a server away.
    """
    where = server.where
    # Built unconnected, then connected in the try: smtplib's constructor leaks its socket when the
    # greeting fails.
    client = (
        smtplib.SMTP_SSL(context=server.tls, timeout=server.timeout)
        if server.security == "ssl"
        else smtplib.SMTP(timeout=server.timeout)
    )
    # smtplib records the host (which TLS checks the certificate against) only when given to its constructor.
    client._host = server.host  # type: ignore[attr-defined]
    try:
        code, greeting = client.connect(server.host, server.port)
        if code != 220:
            raise ApplicationError(
                f"the {where} refused the connection: {code} {greeting.decode(errors='replace')}",
                hint="the server may be overloaded or in maintenance; try again later",
            )
        if server.security == "starttls":
            try:
                client.starttls(context=server.tls)
            except smtplib.SMTPNotSupportedError as exc:
                raise ConfigurationError(
                    f"the {where} does not offer STARTTLS",
                    hint="use security: ssl (usually port 465), or none on a local network",
                ) from exc
        if server.user is not None:
            _login(client, server)
        refused: dict[str, tuple[int, bytes]] = client.send_message(
            message, from_addr=sender, to_addrs=None if recipients is None else list(recipients)
        )
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            pass  # the message was accepted; a lost goodbye changes nothing
        return refused
    except RoboError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        raise BusinessError(
            f"the {where} refused every recipient: {', '.join(exc.recipients)}",
            hint="check the addresses",
            cause=[f"{address}: {code} {reply!r}" for address, (code, reply) in exc.recipients.items()],
        ) from exc
    except smtplib.SMTPSenderRefused as exc:
        if exc.smtp_code == 530:
            raise ConfigurationError(
                f"the {where} accepts mail only after a login",
                hint="give user and password (and security: starttls or ssl if the server asks for TLS)",
            ) from exc
        raise ConfigurationError(
            f"the {where} refused the sender {exc.sender}: {exc.smtp_code} {exc.smtp_error!r}",
            hint="the account may not be allowed to send as this address; check sender and user",
        ) from exc
    except smtplib.SMTPResponseException as exc:
        reply = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        if isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600:
            raise BusinessError(
                f"the {where} refused the message: {exc.smtp_code} {reply}",
                hint="a message too large, or content the server does not accept",
            ) from exc
        if 500 <= exc.smtp_code < 600:
            raise ConfigurationError(
                f"the {where} refused the exchange: {exc.smtp_code} {reply}",
                hint="check host, port, security and the account with the mail administrator",
            ) from exc
        raise ApplicationError(
            f"the {where} failed for now: {exc.smtp_code} {reply}", hint="try again later"
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise connection_error(
            exc,
            service="SMTP",
            host=server.host,
            port=server.port,
            timeout=server.timeout,
            security=server.security,
        ) from exc
    finally:
        client.close()


def _login(client: smtplib.SMTP, server: SmtpServer) -> None:
    try:
        client.login(server.user or "", server.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        raise ConfigurationError(
            f"the {server.where} refused the login of {server.user!r} ({exc.smtp_code})",
            hint="check the user name and the password secret",
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise ConfigurationError(
            f"the {server.where} offers no login on this connection (security: {server.security})",
            hint="most servers only accept a login over TLS: use security: starttls or ssl",
        ) from exc


def connection_error(
    exc: BaseException, *, service: str, host: str, port: int, timeout: float, security: Security
) -> RoboError:
    """The error to raise when connecting to a mail server failed: it names the server and what to check."""
    where = f"{service} server {host}:{port}"
    ports = (
        "465 for ssl, 587 for starttls, 25 for none" if service == "SMTP" else "993 for ssl, 143 otherwise"
    )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConfigurationError(
            f"the certificate of the {where} is not trusted: {exc.verify_message}",
            hint="give the server's certificate (or its authority's) as ca_file",
        )
    if isinstance(exc, ssl.SSLError):
        return ConfigurationError(
            f"TLS failed with the {where} (security: {security}): {exc.reason or exc}",
            hint=f"check that security matches the port ({ports})",
        )
    if isinstance(exc, socket.gaierror):
        return ConfigurationError(f"unknown {service} server host {host!r}", hint="check the host name")
    if isinstance(exc, ConnectionRefusedError):
        return ApplicationError(
            f"cannot connect to the {where}: connection refused",
            hint=f"check that the server is running and that host and port are right ({ports})",
        )
    if isinstance(exc, TimeoutError):
        return ApplicationError(
            f"the {where} did not answer within {timeout:g} s",
            hint="check the host and port, and that no firewall blocks the connection",
        )
    return ApplicationError(
        f"the connection to the {where} failed: {exc}",
        hint=f"check the host, the port and security ({ports}); try again later",
    )
