"""The mock mail server: plain, STARTTLS, AUTH, and messages kept byte for byte."""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from tests.mock_intranet import MailServer, MailStore
from tests.mock_intranet.fixtures import SmtpEndpoint
from tests.mock_intranet.http_agent import IntranetAgent
from tests.mock_intranet.tls import ensure_self_signed_certificate

ATTACHMENT = os.urandom(70_000) + b"\r\n.\r\n..\x00"


def _message(subject: str = "Accusé de réception DOS-2026-000001") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Robot Rob'O <robot@mairie.example.fr>"
    message["To"] = "elodie.lefevre@example.fr"
    message["Subject"] = subject
    message.set_content("Bonjour Madame,\n\nVotre demande est enregistrée.\n.\nCordialement.")
    message.add_attachment(ATTACHMENT, maintype="application", subtype="pdf", filename="accusé réception.pdf")
    return message


def _tls_context(endpoint: SmtpEndpoint) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(endpoint.certificate))


class TestSending:
    def test_plain_without_auth(self, smtp_endpoint: SmtpEndpoint) -> None:
        with smtplib.SMTP(smtp_endpoint.host, smtp_endpoint.port, timeout=10) as client:
            client.send_message(_message())
        (mail,) = smtp_endpoint.store.wait_for(1)
        assert mail.subject == "Accusé de réception DOS-2026-000001"
        assert mail.envelope_to == ["elodie.lefevre@example.fr"]
        assert mail.authenticated_as is None
        assert mail.tls is False
        assert mail.body() == "Bonjour Madame,\n\nVotre demande est enregistrée.\n.\nCordialement.\n"

    def test_starttls_with_a_verified_certificate_and_auth(self, smtp_endpoint: SmtpEndpoint) -> None:
        with smtplib.SMTP(smtp_endpoint.host, smtp_endpoint.port, timeout=10) as client:
            client.starttls(context=_tls_context(smtp_endpoint))
            client.login(smtp_endpoint.username, smtp_endpoint.password)
            client.send_message(_message())
        (mail,) = smtp_endpoint.store.wait_for(1)
        assert mail.tls is True
        assert mail.authenticated_as == "robot"

    def test_certificate_names_localhost_too(self, smtp_endpoint: SmtpEndpoint) -> None:
        with smtplib.SMTP("localhost", smtp_endpoint.port, timeout=10) as client:
            client.starttls(context=_tls_context(smtp_endpoint))
            assert client.noop()[0] == 250

    @pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
    def test_auth_mechanisms(self, smtp_endpoint: SmtpEndpoint, mechanism: str) -> None:
        with smtplib.SMTP(smtp_endpoint.host, smtp_endpoint.port, timeout=10) as client:
            client.ehlo()
            client.user, client.password = smtp_endpoint.username, smtp_endpoint.password
            authenticator = client.auth_plain if mechanism == "PLAIN" else client.auth_login
            code, _ = client.auth(mechanism, authenticator)
            assert code == 235

    def test_bad_password_is_refused(self, smtp_endpoint: SmtpEndpoint) -> None:
        with smtplib.SMTP(smtp_endpoint.host, smtp_endpoint.port, timeout=10) as client:
            client.starttls(context=_tls_context(smtp_endpoint))
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                client.login(smtp_endpoint.username, "mauvais")
            assert refused.value.smtp_code == 535


class TestKeptByteForByte:
    def test_raw_bytes_are_stored_unchanged(self, smtp_endpoint: SmtpEndpoint) -> None:
        raw = _message().as_bytes(policy=_message().policy.clone(linesep="\r\n"))
        with smtplib.SMTP(smtp_endpoint.host, smtp_endpoint.port, timeout=10) as client:
            client.sendmail("robot@mairie.example.fr", ["a@example.fr", "b@example.fr"], raw)
        (mail,) = smtp_endpoint.store.wait_for(1)
        assert mail.raw == raw
        assert mail.envelope_to == ["a@example.fr", "b@example.fr"]
        eml = smtp_endpoint.store.root / f"{mail.id}.eml"
        assert eml.read_bytes() == raw

    def test_attachment_is_decoded_byte_for_byte(self, smtp_endpoint: SmtpEndpoint) -> None:
        with smtplib.SMTP(smtp_endpoint.host, smtp_endpoint.port, timeout=10) as client:
            client.send_message(_message())
        (mail,) = smtp_endpoint.store.wait_for(1)
        (attachment,) = mail.attachments
        assert attachment.filename == "accusé réception.pdf"
        assert attachment.content_type == "application/pdf"
        assert attachment.content == ATTACHMENT


class TestMailInTheIntranet:
    def test_mailbox_page_and_test_api_list_the_message(
        self, smtp_endpoint: SmtpEndpoint, intranet_agent: IntranetAgent, intranet_test_api: httpx.Client
    ) -> None:
        with smtplib.SMTP(smtp_endpoint.host, smtp_endpoint.port, timeout=10) as client:
            client.send_message(_message())
        (mail,) = smtp_endpoint.store.wait_for(1)
        listing = intranet_agent.client.get("/messagerie").text
        assert "1 courriel reçu" in listing
        assert f'<a href="/messagerie/{mail.id}">Accusé de réception DOS-2026-000001</a>' in listing
        detail = intranet_agent.client.get(f"/messagerie/{mail.id}").text
        assert "Votre demande est enregistrée." in detail
        download = intranet_agent.client.get(f"/messagerie/{mail.id}/pieces-jointes/1")
        assert download.content == ATTACHMENT
        assert intranet_agent.client.get(f"/messagerie/{mail.id}/pieces-jointes/2").status_code == 404
        assert intranet_agent.client.get("/messagerie/../etc").status_code == 404
        data = intranet_test_api.get("/api/test/mails", params={"contenu": "1"}).json()
        assert data["count"] == 1
        (attachment,) = data["mails"][0]["pieces_jointes"]
        assert attachment["sha256"] == hashlib.sha256(ATTACHMENT).hexdigest()
        assert attachment["contenu_base64"]


@pytest.fixture
def strict_mail_server(tmp_path: Path) -> Iterator[MailServer]:
    """A server with aiosmtpd's defaults: AUTH only after STARTTLS, and required before sending."""
    server = MailServer(
        MailStore(tmp_path / "mails"), ensure_self_signed_certificate(tmp_path / "tls"), auth_required=True
    )
    with server:
        yield server


class TestStrictServer:
    def test_auth_is_not_offered_before_starttls(self, strict_mail_server: MailServer) -> None:
        with smtplib.SMTP(strict_mail_server.host, strict_mail_server.port, timeout=10) as client:
            client.ehlo()
            assert not client.has_extn("auth")
            assert client.has_extn("starttls")
            with pytest.raises(smtplib.SMTPNotSupportedError):
                client.login("robot", "Courriel-1!")

    def test_unauthenticated_mail_is_refused(self, strict_mail_server: MailServer) -> None:
        with smtplib.SMTP(strict_mail_server.host, strict_mail_server.port, timeout=10) as client:
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.send_message(_message())
            assert refused.value.smtp_code == 530
        assert strict_mail_server.store.count() == 0

    def test_authenticated_after_starttls_is_accepted(self, strict_mail_server: MailServer) -> None:
        assert strict_mail_server.certificate is not None
        context = strict_mail_server.certificate.client_context()
        with smtplib.SMTP(strict_mail_server.host, strict_mail_server.port, timeout=10) as client:
            client.starttls(context=context)
            client.login("robot", "Courriel-1!")
            client.send_message(_message())
        assert strict_mail_server.store.wait_for(1)[0].authenticated_as == "robot"
