"""The `email` robot: sending to the mock intranet's SMTP server, reading from a real Dovecot IMAP server."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import docx
import pytest

from robots.email import Email, safe_filename
from robots.kit import ApplicationError, BusinessError, ConfigurationError, RobotContext
from tests.mock_intranet.fixtures import SmtpEndpoint
from tests.mock_intranet.mail_store import MailStore
from tests.mock_intranet.smtp_server import MailServer
from tests.robots import imap_server, locales
from tests.robots.imap_server import ImapAccount
from tests.running import WorkflowRunner

dovecot = imap_server.dovecot
imap_account = imap_server.imap_account


@pytest.fixture
def email(robot_context: RobotContext) -> Iterator[Email]:
    robot = Email(robot_context)
    yield robot
    robot.close()


@pytest.fixture
def attachments(tmp_path: Path) -> tuple[Path, Path]:
    """A binary "PDF" of random bytes and a real .docx, with accented names."""
    binary = tmp_path / "pièces" / "Relevé 2026.pdf"
    binary.parent.mkdir()
    binary.write_bytes(random.Random(42).randbytes(50_000))
    document = docx.Document()
    document.add_paragraph("Accusé de réception : dossier n° 2026-0042")
    letter = tmp_path / "pièces" / "Accusé de réception.docx"
    document.save(str(letter))
    return binary, letter


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def smtp_params(smtp: SmtpEndpoint, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "host": smtp.host,
        "port": smtp.port,
        "security": "none",
        "user": smtp.username,
        "password": smtp.password,
        "sender": "Service urbanisme <urbanisme@mairie.test>",
        "to": "Éloïse Lefèvre <eloise.lefevre@example.fr>",
        "subject": "Votre dossier n° 2026-0042 — accusé de réception",
        "text": "Madame,\n\nVotre demande a bien été reçue.\n",
    }
    return {**params, **overrides}


class TestActionSpecs:
    def test_every_action_has_side_effects_and_secret_passwords(self) -> None:
        specs = Email.action_specs()
        assert set(specs) == {"send", "read", "move", "create_folder"}
        # Moving a message already moved, or creating a folder that exists, changes nothing: a resumed item may
        # do it again.
        assert sorted(name for name, spec in specs.items() if spec.idempotent) == ["create_folder", "move"]
        for spec in specs.values():
            assert spec.side_effects
            assert spec.returns
            assert spec.secret_parameters == {"password"}


class TestSend:
    def test_attachments_arrive_byte_for_byte_with_plain_connection_and_login(
        self, email: Email, smtp_endpoint: SmtpEndpoint, attachments: tuple[Path, Path], logs: list[str]
    ) -> None:
        binary, letter = attachments
        message_id = email.send(
            **smtp_params(
                smtp_endpoint,
                html="<p>Madame,</p><p>Votre demande a bien été <b>reçue</b>.</p>",
                cc="chef.service@mairie.test",
                bcc=["archives@mairie.test"],
                attachments=[str(binary), "pièces/Accusé de réception.docx"],
            )
        )

        (mail,) = smtp_endpoint.store.wait_for(1)
        assert mail.header("Message-ID") == message_id
        assert message_id.startswith("<") and message_id.endswith("@mairie.test>")
        assert mail.subject == "Votre dossier n° 2026-0042 — accusé de réception"
        assert mail.header("From") == "Service urbanisme <urbanisme@mairie.test>"
        assert mail.header("To") == "Éloïse Lefèvre <eloise.lefevre@example.fr>"
        assert mail.header("Bcc") == ""
        assert sorted(mail.envelope_to) == [
            "archives@mairie.test",
            "chef.service@mairie.test",
            "eloise.lefevre@example.fr",
        ]
        assert mail.authenticated_as == smtp_endpoint.username
        assert not mail.tls
        assert mail.body("plain") == "Madame,\n\nVotre demande a bien été reçue.\n"
        assert "<b>reçue</b>" in mail.body("html")
        received = {attachment.filename: attachment for attachment in mail.attachments}
        assert set(received) == {"Relevé 2026.pdf", "Accusé de réception.docx"}
        assert received["Relevé 2026.pdf"].content == binary.read_bytes()
        assert received["Relevé 2026.pdf"].content_type == "application/pdf"
        assert received["Accusé de réception.docx"].content == letter.read_bytes()
        assert received["Accusé de réception.docx"].content_type == (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        )
        assert any(
            message_id in line and f"{smtp_endpoint.host}:{smtp_endpoint.port}" in line for line in logs
        )

    def test_starttls_with_the_servers_certificate(
        self, email: Email, smtp_endpoint: SmtpEndpoint, attachments: tuple[Path, Path]
    ) -> None:
        binary, letter = attachments
        email.send(
            **smtp_params(
                smtp_endpoint,
                security="starttls",
                ca_file=str(smtp_endpoint.certificate),
                attachments=[str(binary), str(letter)],
            )
        )
        (mail,) = smtp_endpoint.store.wait_for(1)
        assert mail.tls
        assert mail.authenticated_as == smtp_endpoint.username
        assert [attachment.content for attachment in mail.attachments] == [
            binary.read_bytes(),
            letter.read_bytes(),
        ]

    def test_long_accented_subjects_and_names_keep_their_spaces(
        self, email: Email, smtp_endpoint: SmtpEndpoint
    ) -> None:
        subject = "Votre dossier PC-2026-0042 : Permis de construire — pièces complémentaires " * 3
        to = "Éloïse Lefèvre-Dœuf de la Côte-Saint-André <eloise@example.fr>"
        email.send(**smtp_params(smtp_endpoint, subject=subject, to=to))
        (mail,) = smtp_endpoint.store.wait_for(1)
        assert mail.subject == subject
        assert mail.header("To") == to

    def test_an_html_only_message(self, email: Email, smtp_endpoint: SmtpEndpoint) -> None:
        email.send(**smtp_params(smtp_endpoint, text=None, html="<p>Bonjour</p>"))
        (mail,) = smtp_endpoint.store.wait_for(1)
        assert mail.body("html").strip() == "<p>Bonjour</p>"
        assert mail.body("plain") == ""

    def test_an_untrusted_certificate_is_a_configuration_error(
        self, email: Email, smtp_endpoint: SmtpEndpoint
    ) -> None:
        with pytest.raises(ConfigurationError, match="is not trusted") as caught:
            email.send(**smtp_params(smtp_endpoint, security="starttls"))
        assert f"{smtp_endpoint.host}:{smtp_endpoint.port}" in str(caught.value)
        assert caught.value.hint is not None and "ca_file" in caught.value.hint
        assert smtp_endpoint.store.count() == 0

    def test_verification_can_be_turned_off_explicitly(
        self, email: Email, smtp_endpoint: SmtpEndpoint, logs: list[str]
    ) -> None:
        email.send(**smtp_params(smtp_endpoint, security="starttls", verify_tls=False))
        assert smtp_endpoint.store.wait_for(1)[0].tls
        assert any("not checked" in line for line in logs)

    def test_a_wrong_password_is_a_configuration_error(
        self, email: Email, smtp_endpoint: SmtpEndpoint
    ) -> None:
        with pytest.raises(ConfigurationError) as caught:
            email.send(**smtp_params(smtp_endpoint, password="mauvais"))
        assert str(caught.value) == (
            f"the SMTP server {smtp_endpoint.host}:{smtp_endpoint.port} refused the login of "
            f"{smtp_endpoint.username!r} (535)"
        )
        assert caught.value.hint == "check the user name and the password secret"
        assert "mauvais" not in str(caught.value)
        assert smtp_endpoint.store.count() == 0

    def test_a_refused_connection_is_an_application_error_naming_host_and_port(self, email: Email) -> None:
        port = free_port()
        with pytest.raises(ApplicationError) as caught:
            email.send(host="127.0.0.1", port=port, sender="a@mairie.test", to="b@mairie.test", subject="x")
        assert str(caught.value) == f"cannot connect to the SMTP server 127.0.0.1:{port}: connection refused"
        assert caught.value.hint is not None and "running" in caught.value.hint

    def test_a_server_that_requires_a_login_says_so(self, email: Email, tmp_path: Path) -> None:
        store = MailStore(tmp_path / "boite")
        with MailServer(store, auth_required=True, auth_require_tls=False) as server:
            with pytest.raises(ConfigurationError, match="accepts mail only after a login") as caught:
                email.send(
                    host=server.host,
                    port=server.port,
                    security="none",
                    sender="a@mairie.test",
                    to="b@x.fr",
                    subject="x",
                )
        assert f"127.0.0.1:{server.port}" in str(caught.value)
        assert store.count() == 0

    def test_ssl_against_a_plain_port_is_a_configuration_error(
        self, email: Email, smtp_endpoint: SmtpEndpoint
    ) -> None:
        with pytest.raises(ConfigurationError, match=r"TLS failed with the SMTP server .* \(security: ssl\)"):
            email.send(**smtp_params(smtp_endpoint, security="ssl", ca_file=str(smtp_endpoint.certificate)))

    def test_an_invalid_address_is_a_business_error_and_nothing_is_sent(
        self, email: Email, smtp_endpoint: SmtpEndpoint
    ) -> None:
        with pytest.raises(BusinessError, match=r"'eloise\.lefevre@' is not an email address"):
            email.send(**smtp_params(smtp_endpoint, to=["ok@example.fr", "eloise.lefevre@"]))
        assert smtp_endpoint.store.count() == 0

    def test_addresses_separated_by_semicolons(self, email: Email, smtp_endpoint: SmtpEndpoint) -> None:
        email.send(**smtp_params(smtp_endpoint, to="a@example.fr; B <b@example.fr>"))
        assert sorted(smtp_endpoint.store.wait_for(1)[0].envelope_to) == ["a@example.fr", "b@example.fr"]

    def test_a_missing_attachment_is_a_configuration_error(
        self, email: Email, smtp_endpoint: SmtpEndpoint
    ) -> None:
        with pytest.raises(ConfigurationError, match="attachment not found"):
            email.send(**smtp_params(smtp_endpoint, attachments=["absente.pdf"]))
        assert smtp_endpoint.store.count() == 0


INJECTED_BCC = "a@x.fr\r\nBcc: evil@x.fr"


class TestHeaderInjection:
    """Values from data never add a header or a recipient: a control character is a business error."""

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("to", INJECTED_BCC),
            ("to", ["ok@example.fr", INJECTED_BCC]),
            ("to", "Nom\nBcc: evil@x.fr <a@x.fr>"),
            ("cc", "a@x.fr\nevil@x.fr"),
            ("bcc", "a@x.fr\x00evil@x.fr"),
            ("reply_to", "a@x.fr\rBcc: evil@x.fr"),
            ("sender", "Service \x1b[2K <urbanisme@mairie.test>"),
            ("to", "a@x.fr\u2028Bcc: evil@x.fr"),
            ("to", "a@x.fr\x85evil@x.fr"),
        ],
    )
    def test_a_control_character_in_an_address_sends_nothing(
        self, email: Email, smtp_endpoint: SmtpEndpoint, field: str, value: str | list[str]
    ) -> None:
        with pytest.raises(BusinessError) as caught:
            email.send(**smtp_params(smtp_endpoint, **{field: value}))
        message = str(caught.value)
        assert message.startswith(f"{field}: ")
        assert "control character" in message
        assert "\n" not in message and "\r" not in message and "\x00" not in message  # shown by its repr
        email.send(**smtp_params(smtp_endpoint))
        (mail,) = smtp_endpoint.store.wait_for(1)  # only the clean message arrived
        assert mail.envelope_to == ["eloise.lefevre@example.fr"]

    def test_a_line_break_in_the_subject_is_a_business_error(
        self, email: Email, smtp_endpoint: SmtpEndpoint
    ) -> None:
        with pytest.raises(BusinessError, match=r"^subject: 'Dossier\\r\\nBcc: evil@x\.fr' holds a control"):
            email.send(**smtp_params(smtp_endpoint, subject="Dossier\r\nBcc: evil@x.fr"))
        assert smtp_endpoint.store.count() == 0

    def test_a_long_value_is_shown_cut(self, email: Email, smtp_endpoint: SmtpEndpoint) -> None:
        with pytest.raises(BusinessError) as caught:
            email.send(**smtp_params(smtp_endpoint, to="a@x.fr\n" + "b" * 100_000))
        assert len(str(caught.value)) < 300
        assert "…" in str(caught.value)

    def test_a_tab_in_the_subject_is_kept(self, email: Email, smtp_endpoint: SmtpEndpoint) -> None:
        email.send(**smtp_params(smtp_endpoint, subject="Dossier\t42"))
        (mail,) = smtp_endpoint.store.wait_for(1)
        assert "42" in mail.subject

    def test_an_attachment_named_with_a_line_break_is_sent_under_a_safe_name(
        self, email: Email, smtp_endpoint: SmtpEndpoint, tmp_path: Path
    ) -> None:
        attached = tmp_path / "relevé\r\nBcc: evil@x.fr.pdf"
        attached.write_bytes(b"%PDF-1.4")
        email.send(**smtp_params(smtp_endpoint, attachments=[str(attached)]))
        (mail,) = smtp_endpoint.store.wait_for(1)
        assert mail.envelope_to == ["eloise.lefevre@example.fr"]
        assert mail.header("Bcc") == ""
        ((name, content),) = [(a.filename, a.content) for a in mail.attachments]
        assert name == "relevé_Bcc_ evil@x.fr.pdf"
        assert content == b"%PDF-1.4"

    @pytest.mark.parametrize(
        ("field", "value"), [("to", INJECTED_BCC), ("subject", "Dossier\r\nBcc: evil@x.fr")]
    )
    def test_through_the_engine_it_is_not_retried(
        self, smtp_endpoint: SmtpEndpoint, tmp_path: Path, field: str, value: str
    ) -> None:
        (tmp_path / "cells.json").write_text(json.dumps({field: value}), encoding="utf-8")
        fields = smtp_params(smtp_endpoint)
        fields[field] = f"{{{{ cells.{field} }}}}"
        fields["password"] = "{{ secrets.smtp }}"
        workflow = (
            "name: injection\n"
            "secrets: [smtp]\n"
            "defaults: {retry: {attempts: 3, delay: 0.01}}\n"
            "steps:\n"
            "  - data.read_json: {path: cells.json}\n"
            "    save: cells\n"
            f"  - email.send: {json.dumps(fields, ensure_ascii=False)}\n"
        )
        outcome, recorder = WorkflowRunner(tmp_path)(
            workflow, environ={"ROBO_SECRET_SMTP": smtp_endpoint.password}
        )
        assert outcome.status == "failed"
        assert recorder.of("retry_scheduled") == []
        (diagnostic,) = outcome.diagnostics
        assert diagnostic.code == "business-error"
        assert diagnostic.message.startswith(f"step 'email.send' failed: {field}: ")
        assert smtp_endpoint.store.count() == 0


def incoming(
    subject: str,
    sender: str = "Centre des impôts <sip@impots.test>",
    files: dict[str, bytes] | None = None,
    sent: datetime | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "agent@mairie.test"
    message["Subject"] = subject
    message["Date"] = format_datetime(sent or datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    message["Message-ID"] = f"<{abs(hash(subject))}@impots.test>"
    message.set_content(f"Veuillez trouver ci-joint : {subject}.")
    for name, content in (files or {}).items():
        message.add_attachment(content, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def imap_params(account: ImapAccount, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "host": account.host,
        "port": account.ssl_port,
        "security": "ssl",
        "ca_file": str(account.certificate),
        "user": account.user,
        "password": account.password,
    }
    return {**params, **overrides}


def flags(account: ImapAccount, folder: str = "INBOX") -> list[bytes]:
    return [header for header, _ in account.messages(folder)]


class TestRead:
    def test_saves_attachments_byte_for_byte_and_returns_records(
        self, email: Email, imap_account: ImapAccount, tmp_path: Path
    ) -> None:
        avis = random.Random(1).randbytes(30_000)
        annexe = random.Random(2).randbytes(1_000)
        imap_account.deliver(
            incoming("Avis d'impôt 2026", files={"avis d'impôt.pdf": avis, "annexe.bin": annexe})
        )
        imap_account.deliver(incoming("Relance", files={"avis d'impôt.pdf": b"%PDF-relance"}))

        records = email.read(**imap_params(imap_account), save_attachments_to="courrier entrant")

        folder = tmp_path / "courrier entrant"
        assert [record["subject"] for record in records] == ["Avis d'impôt 2026", "Relance"]
        first = records[0]
        assert first["from"] == "sip@impots.test"
        assert first["to"] == ["agent@mairie.test"]
        assert first["date"] == "2026-03-02T09:30:00+00:00"
        assert first["text"].strip() == "Veuillez trouver ci-joint : Avis d'impôt 2026."
        assert first["message_id"].endswith("@impots.test>")
        assert first["attachment_names"] == ["avis d'impôt.pdf", "annexe.bin"]
        assert first["attachments"] == [str(folder / "avis d'impôt.pdf"), str(folder / "annexe.bin")]
        assert Path(first["attachments"][0]).read_bytes() == avis
        assert Path(first["attachments"][1]).read_bytes() == annexe
        # The same name again: the first file is kept, the new one gets " (2)".
        assert records[1]["attachments"] == [str(folder / "avis d'impôt (2).pdf")]
        assert (folder / "avis d'impôt (2).pdf").read_bytes() == b"%PDF-relance"
        assert sorted(path.name for path in folder.iterdir()) == [
            "annexe.bin",
            "avis d'impôt (2).pdf",
            "avis d'impôt.pdf",
        ]
        # Reading leaves the messages unread.
        assert all(b"\\Seen" not in header for header in flags(imap_account))

    def test_never_overwrites_a_file_already_in_the_folder(
        self, email: Email, imap_account: ImapAccount, tmp_path: Path
    ) -> None:
        (tmp_path / "recus").mkdir()
        (tmp_path / "recus" / "facture.pdf").write_bytes(b"deja la")
        imap_account.deliver(incoming("Facture", files={"facture.pdf": b"nouvelle"}))
        (record,) = email.read(**imap_params(imap_account), save_attachments_to="recus")
        assert (tmp_path / "recus" / "facture.pdf").read_bytes() == b"deja la"
        assert Path(record["attachments"][0]).name == "facture (2).pdf"
        assert not [path for path in (tmp_path / "recus").iterdir() if path.name.startswith(".")]

    def test_dangerous_attachment_names_are_sanitised(
        self, email: Email, imap_account: ImapAccount, tmp_path: Path
    ) -> None:
        imap_account.deliver(
            incoming("Pièges", files={"../../etc/passwd": b"a", 'rapport: "final"?.pdf': b"b"})
        )
        (record,) = email.read(**imap_params(imap_account), save_attachments_to="recus")
        assert [Path(path).name for path in record["attachments"]] == ["passwd", "rapport_ _final_.pdf"]
        assert all(Path(path).parent == tmp_path / "recus" for path in record["attachments"])

    def test_marks_as_read_and_moves_the_handled_messages(
        self, email: Email, imap_account: ImapAccount, tmp_path: Path
    ) -> None:
        imap_account.create_folder("Trait&AOk-s")  # "Traités" in IMAP's modified UTF-7
        imap_account.deliver(incoming("Avis 1", files={"avis1.pdf": b"1"}))
        imap_account.deliver(incoming("Autre chose", sender="collegue@mairie.test"))
        imap_account.deliver(incoming("Avis 2", files={"avis2.pdf": b"2"}))

        records = email.read(
            **imap_params(imap_account),
            sender="impots.test",
            save_attachments_to="recus",
            mark_as_read=True,
            move_to="Traités",
        )

        assert [record["subject"] for record in records] == ["Avis 1", "Avis 2"]
        moved = imap_account.messages("Trait&AOk-s")
        assert [b"Avis 1" in raw for _, raw in moved] == [True, False]
        assert all(b"\\Seen" in header for header, _ in moved)
        remaining = imap_account.messages("INBOX")
        assert len(remaining) == 1 and b"Autre chose" in remaining[0][1]
        assert b"\\Seen" not in remaining[0][0]

    def test_marks_as_read_without_moving(self, email: Email, imap_account: ImapAccount) -> None:
        imap_account.deliver(incoming("Avis"))
        email.read(**imap_params(imap_account), mark_as_read=True)
        assert [b"\\Seen" in header for header in flags(imap_account)] == [True]

    def test_searches_by_subject_with_accents_unseen_and_date(
        self, email: Email, imap_account: ImapAccount
    ) -> None:
        imap_account.deliver(incoming("Accusé de réception", sent=datetime(2026, 1, 5, tzinfo=UTC)))
        imap_account.deliver(incoming("Relevé", sent=datetime(2026, 3, 1, tzinfo=UTC)), seen=True)
        imap_account.deliver(incoming("Relevé bis", sent=datetime(2026, 3, 1, tzinfo=UTC)))
        params = imap_params(imap_account)
        assert [r["subject"] for r in email.read(**params, subject="réception")] == ["Accusé de réception"]
        assert [r["subject"] for r in email.read(**params, subject="Relevé", unseen=True)] == ["Relevé bis"]
        # IMAP's SINCE compares the day the server received the message: all three arrived today.
        assert len(email.read(**params, since=date.today())) == 3
        assert email.read(**params, since=date(2999, 1, 1)) == []
        assert [r["subject"] for r in email.read(**params, limit=1)] == ["Accusé de réception"]

    @pytest.mark.parametrize("security", ["starttls", "none"])
    def test_reads_over_starttls_and_without_tls(
        self, email: Email, imap_account: ImapAccount, security: str
    ) -> None:
        imap_account.deliver(incoming("Avis"))
        records = email.read(**imap_params(imap_account, port=imap_account.port, security=security))
        assert [record["subject"] for record in records] == ["Avis"]

    def test_a_wrong_password_is_a_configuration_error(self, email: Email, imap_account: ImapAccount) -> None:
        with pytest.raises(ConfigurationError) as caught:
            email.read(**imap_params(imap_account, password="mauvais"))
        assert str(caught.value) == (
            f"the IMAP server {imap_account.host}:{imap_account.ssl_port} refused the login of {imap_account.user!r}"
        )
        assert caught.value.hint == "check the user name and the password secret"

    def test_an_unknown_folder_is_a_configuration_error_listing_the_folders(
        self, email: Email, imap_account: ImapAccount, tmp_path: Path
    ) -> None:
        imap_account.deliver(incoming("Avis", files={"avis.pdf": b"1"}))
        with pytest.raises(ConfigurationError, match="has no folder 'Factures'") as caught:
            email.read(**imap_params(imap_account), folder="Factures")
        assert caught.value.hint == "its folders are: INBOX"
        with pytest.raises(ConfigurationError, match="has no folder 'Archives'"):
            email.read(**imap_params(imap_account), move_to="Archives", save_attachments_to="recus")
        assert not (tmp_path / "recus").exists()  # refused before anything was saved
        assert len(imap_account.messages("INBOX")) == 1

    def test_an_untrusted_certificate_is_a_configuration_error(
        self, email: Email, imap_account: ImapAccount
    ) -> None:
        with pytest.raises(ConfigurationError, match="is not trusted"):
            email.read(**imap_params(imap_account, ca_file=None))

    def test_a_refused_connection_is_an_application_error_naming_host_and_port(self, email: Email) -> None:
        port = free_port()
        with pytest.raises(ApplicationError) as caught:
            email.read(host="127.0.0.1", port=port, user="u", password="p")
        assert str(caught.value) == f"cannot connect to the IMAP server 127.0.0.1:{port}: connection refused"


class TestReadRefusesControlCharacters:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("subject", 'x"\r\nA0042 DELETE "Archives'),
            ("sender", "a@x.fr\r\nA0042 LOGOUT"),
            ("folder", "INBOX\r\nA0042 DELETE INBOX"),
            ("move_to", "Archives\nA0042 EXPUNGE"),
        ],
    )
    def test_a_line_break_in_a_search_or_folder_is_a_business_error(
        self, email: Email, imap_account: ImapAccount, field: str, value: str
    ) -> None:
        imap_account.create_folder("Archives")
        imap_account.deliver(incoming("Dossier 42"))
        with pytest.raises(BusinessError, match=f"^{field}: .* holds a control character"):
            email.read(**imap_params(imap_account, **{field: value}))
        assert len(flags(imap_account)) == 1
        assert len(flags(imap_account, "Archives")) == 0


class TestSafeFilename:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("facture.pdf", "facture.pdf"),
            ("C:\\Users\\x\\rapport.docx", "rapport.docx"),
            ("..", "piece-jointe"),
            (None, "piece-jointe"),
            ("CON.txt", "_CON.txt"),
            ("a\x00b\r\n.pdf", "a_b_.pdf"),
            ("x" * 300 + ".pdf", "x" * 146 + ".pdf"),
        ],
    )
    def test_names(self, name: str | None, expected: str) -> None:
        assert safe_filename(name) == expected


spoken = locales.spoken


class TestInFrenchAndEnglish:
    """What a person reads of the email robot, under `LANG=fr_FR.UTF-8` in French and under `LANG=C` in English."""

    def test_a_login_refused_by_the_imap_server(
        self, email: Email, imap_account: ImapAccount, spoken: str
    ) -> None:
        with pytest.raises(ConfigurationError) as caught:
            email.read(**imap_params(imap_account, password="mauvais"))
        server, user = f"{imap_account.host}:{imap_account.ssl_port}", repr(imap_account.user)
        assert (caught.value.message, caught.value.hint) == {
            "fr": (
                f"le serveur IMAP {server} a refusé la connexion de {user}",
                "vérifiez le nom d'utilisateur et le secret du mot de passe",
            ),
            "en": (
                f"the IMAP server {server} refused the login of {user}",
                "check the user name and the password secret",
            ),
        }[spoken]

    def test_the_messages_read_are_counted_in_the_language(
        self, email: Email, imap_account: ImapAccount, logs: list[str], spoken: str
    ) -> None:
        imap_account.deliver(incoming("Avis", files={"avis.pdf": b"1"}))
        imap_account.deliver(incoming("Relance", files={"relance.pdf": b"2"}))
        email.read(**imap_params(imap_account))
        where = f"{imap_account.host}:{imap_account.ssl_port}"
        assert (
            logs[-1]
            == {
                "fr": f"2 messages lus dans INBOX sur {where}",
                "en": f"read 2 messages from INBOX on {where}",
            }[spoken]
        )

    def test_an_address_that_is_not_one(self, email: Email, smtp_endpoint: SmtpEndpoint, spoken: str) -> None:
        with pytest.raises(BusinessError) as caught:
            email.send(**smtp_params(smtp_endpoint, to="dupont.mairie.fr"))
        assert (caught.value.message, caught.value.hint) == {
            "fr": (
                "to : 'dupont.mairie.fr' n'est pas une adresse e-mail",
                "écrivez « nom@domaine.fr » ou « Nom Prénom <nom@domaine.fr> »",
            ),
            "en": (
                "to: 'dupont.mairie.fr' is not an email address",
                'write "nom@domaine.fr" or "Nom Prénom <nom@domaine.fr>"',
            ),
        }[spoken]
        assert smtp_endpoint.store.count() == 0
