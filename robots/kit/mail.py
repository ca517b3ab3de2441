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
from robots.kit.i18n import _

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
        return _("{service} server {host}:{port}").format(service="SMTP", host=self.host, port=self.port)


def tls_context(ca_file: Path | None, verify: bool) -> ssl.SSLContext:
    """A client TLS context: the system's authorities (or `ca_file`'s), host names checked unless `verify` is off."""
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_file is not None and not ca_file.is_file():
        raise ConfigurationError(
            _("certificate file not found: {path}").format(path=ca_file),
            hint=_("ca_file is the PEM file of the server's certificate or of the authority that signed it"),
        )
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigurationError(
            _("{path} is not a PEM certificate file").format(path=ca_file),
            hint=_("ca_file must hold certificates in PEM format"),
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
                _("the {where} refused the connection: {reply}").format(
                    where=where, reply=f"{code} {greeting.decode(errors='replace')}"
                ),
                hint=_("the server may be overloaded or in maintenance; try again later"),
            )
        if server.security == "starttls":
            try:
                client.starttls(context=server.tls)
            except smtplib.SMTPNotSupportedError as exc:
                raise ConfigurationError(
                    _("the {where} does not offer STARTTLS").format(where=where),
                    hint=_("use security: ssl (usually port 465), or none on a local network"),
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
            _("the {where} refused every recipient: {recipients}").format(
                where=where, recipients=", ".join(exc.recipients)
            ),
            hint=_("check the addresses"),
            cause=[f"{address}: {code} {reply!r}" for address, (code, reply) in exc.recipients.items()],
        ) from exc
    except smtplib.SMTPSenderRefused as exc:
        if exc.smtp_code == 530:
            raise ConfigurationError(
                _("the {where} accepts mail only after a login").format(where=where),
                hint=_("give user and password (and security: starttls or ssl if the server asks for TLS)"),
            ) from exc
        raise ConfigurationError(
            _("the {where} refused the sender {sender}: {reply}").format(
                where=where, sender=exc.sender, reply=f"{exc.smtp_code} {exc.smtp_error!r}"
            ),
            hint=_("the account may not be allowed to send as this address; check sender and user"),
        ) from exc
    except smtplib.SMTPResponseException as exc:
        reply = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        if isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600:
            raise BusinessError(
                _("the {where} refused the message: {reply}").format(
                    where=where, reply=f"{exc.smtp_code} {reply}"
                ),
                hint=_("a message too large, or content the server does not accept"),
            ) from exc
        if 500 <= exc.smtp_code < 600:
            raise ConfigurationError(
                _("the {where} refused the exchange: {reply}").format(
                    where=where, reply=f"{exc.smtp_code} {reply}"
                ),
                hint=_("check host, port, security and the account with the mail administrator"),
            ) from exc
        raise ApplicationError(
            _("the {where} failed for now: {reply}").format(where=where, reply=f"{exc.smtp_code} {reply}"),
            hint=_("try again later"),
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
            _("the {where} refused the login of {user} ({code})").format(
                where=server.where, user=repr(server.user), code=exc.smtp_code
            ),
            hint=_("check the user name and the password secret"),
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise ConfigurationError(
            _("the {where} offers no login on this connection (security: {security})").format(
                where=server.where, security=server.security
            ),
            hint=_("most servers only accept a login over TLS: use security: starttls or ssl"),
        ) from exc


def connection_error(
    exc: BaseException, *, service: str, host: str, port: int, timeout: float, security: Security
) -> RoboError:
    """The error to raise when connecting to a mail server failed: it names the server and what to check."""
    where = _("{service} server {host}:{port}").format(service=service, host=host, port=port)
    ports = (
        _("465 for ssl, 587 for starttls, 25 for none")
        if service == "SMTP"
        else _("993 for ssl, 143 otherwise")
    )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConfigurationError(
            _("the certificate of the {where} is not trusted: {reason}").format(
                where=where, reason=exc.verify_message
            ),
            hint=_("give the server's certificate (or its authority's) as ca_file"),
        )
    if isinstance(exc, ssl.SSLError):
        return ConfigurationError(
            _("TLS failed with the {where} (security: {security}): {reason}").format(
                where=where, security=security, reason=exc.reason or exc
            ),
            hint=_("check that security matches the port ({ports})").format(ports=ports),
        )
    if isinstance(exc, socket.gaierror):
        return ConfigurationError(
            _("unknown {service} server host {host}").format(service=service, host=repr(host)),
            hint=_("check the host name"),
        )
    if isinstance(exc, ConnectionRefusedError):
        return ApplicationError(
            _("cannot connect to the {where}: connection refused").format(where=where),
            hint=_("check that the server is running and that host and port are right ({ports})").format(
                ports=ports
            ),
        )
    if isinstance(exc, TimeoutError):
        return ApplicationError(
            _("the {where} did not answer within {seconds} s").format(where=where, seconds=f"{timeout:g}"),
            hint=_("check the host and port, and that no firewall blocks the connection"),
        )
    return ApplicationError(
        _("the connection to the {where} failed: {reason}").format(where=where, reason=exc),
        hint=_("check the host, the port and security ({ports}); try again later").format(ports=ports),
    )
