"""The SMTP sender the email robot and the schedule notifier share, against the mock intranet's mail server."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from robots.kit import ConfigurationError, SmtpServer, send_message, tls_context
from tests.mock_intranet.fixtures import SmtpEndpoint


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "robo@mairie.test"
    mail["To"] = "Éloïse Lefèvre <eloise.lefevre@example.fr>"
    mail["Cc"] = "chef@mairie.test"
    mail["Subject"] = "Dossier 2026-0042"
    mail.set_content("Bonjour\n")
    return mail


class TestSendMessage:
    def test_without_recipients_the_message_goes_to_its_to_and_cc(self, smtp_endpoint: SmtpEndpoint) -> None:
        server = SmtpServer(
            smtp_endpoint.host,
            smtp_endpoint.port,
            "none",
            user=smtp_endpoint.username,
            password=smtp_endpoint.password,
        )
        assert send_message(server, message()) == {}
        (mail,) = smtp_endpoint.store.wait_for(1)
        assert sorted(mail.envelope_to) == ["chef@mairie.test", "eloise.lefevre@example.fr"]
        assert mail.authenticated_as == smtp_endpoint.username

    def test_starttls_checks_the_certificate_given(self, smtp_endpoint: SmtpEndpoint) -> None:
        server = SmtpServer(
            smtp_endpoint.host,
            smtp_endpoint.port,
            "starttls",
            tls=tls_context(smtp_endpoint.certificate, verify=True),
        )
        send_message(server, message(), sender="robo@mairie.test", recipients=["chef@mairie.test"])
        (mail,) = smtp_endpoint.store.wait_for(1)
        assert mail.tls
        assert mail.envelope_to == ["chef@mairie.test"]

    def test_a_refused_login_names_the_server_and_keeps_the_smtp_error(
        self, smtp_endpoint: SmtpEndpoint
    ) -> None:
        server = SmtpServer(smtp_endpoint.host, smtp_endpoint.port, "none", user="robo", password="mauvais")
        with pytest.raises(ConfigurationError) as caught:
            send_message(server, message())
        assert str(caught.value) == (
            f"the SMTP server {smtp_endpoint.host}:{smtp_endpoint.port} refused the login of 'robo' (535)"
        )
        assert isinstance(caught.value.__cause__, smtplib.SMTPAuthenticationError)
        assert smtp_endpoint.store.count() == 0
