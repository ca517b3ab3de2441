"""The email robot's side of filing a mailbox: one message by its Message-ID, attachments saved once, moves.

Against the real Dovecot server of `tests/robots/imap_server.py`; the mail-to-folder workflow built on these
actions is tested end to end in `tests/e2e/test_courrier_vers_dossiers.py`.
"""

from __future__ import annotations

import os
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from robots.email import Email
from robots.kit import BusinessError, ConfigurationError
from tests.robots import imap_server
from tests.robots.imap_server import ImapAccount
from tests.robots.test_email import email, imap_params

dovecot = imap_server.dovecot
imap_account = imap_server.imap_account
__all__ = ["email"]  # the fixture, imported for this module's tests

CLASSE = "Class&AOk-"  # "Classé" in IMAP's modified UTF-7


def mail(
    message_id: str | None, files: list[tuple[str | None, bytes]] | None = None, subject: str = "Courrier"
) -> bytes:
    message = EmailMessage()
    message["From"] = "Mme Lefèvre <eloise.lefevre@example.fr>"
    message["To"] = "urbanisme@mairie.test"
    message["Subject"] = subject
    if message_id is not None:
        message["Message-ID"] = message_id
    message.set_content("Bonjour,\nveuillez trouver ci-joint les pièces de mon dossier.\n")
    for name, content in files or []:
        message.add_attachment(content, maintype="application", subtype="pdf", filename=name)
    return message.as_bytes()


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def count(account: ImapAccount, folder: str = "INBOX") -> int:
    return len(account.messages(folder))


class TestOneMessageByItsMessageId:
    def test_only_that_message_is_read_and_saved(
        self, email: Email, imap_account: ImapAccount, tmp_path: Path
    ) -> None:
        imap_account.deliver(mail("<a1@example.fr>", [("lettre.pdf", b"%PDF-a1")]))
        imap_account.deliver(mail("<a2@example.fr>", [("lettre.pdf", b"%PDF-a2")]))
        (record,) = email.read(
            **imap_params(imap_account), message_id=" <a2@example.fr> ", save_attachments_to="a2"
        )
        assert record["message_id"] == "<a2@example.fr>"
        assert Path(record["attachments"][0]).read_bytes() == b"%PDF-a2"
        assert names(tmp_path / "a2") == ["lettre.pdf"]
        assert email.read(**imap_params(imap_account), message_id="<absent@example.fr>") == []

    def test_reading_again_saves_nothing_twice(
        self, email: Email, imap_account: ImapAccount, tmp_path: Path
    ) -> None:
        files: list[tuple[str | None, bytes]] = [
            ("scan.pdf", b"%PDF-page-1"),
            ("scan.pdf", b"%PDF-page-2"),  # same name, other bytes: both kept
            ("copie.pdf", b"%PDF-page-1"),
            ("scan.pdf", b"%PDF-page-1"),  # same name, same bytes: kept once
        ]
        imap_account.deliver(mail("<b@example.fr>", files))
        first = email.read(**imap_params(imap_account), save_attachments_to="pièces")
        second = email.read(**imap_params(imap_account), save_attachments_to="pièces")
        folder = tmp_path / "pièces"
        assert names(folder) == ["copie.pdf", "scan (2).pdf", "scan.pdf"]
        assert first[0]["attachments"] == second[0]["attachments"]
        assert [Path(path).name for path in first[0]["attachments"]] == [
            "scan.pdf",
            "scan (2).pdf",
            "copie.pdf",
            "scan.pdf",
        ]
        assert (folder / "scan (2).pdf").read_bytes() == b"%PDF-page-2"

    def test_hostile_attachment_names_stay_in_the_folder(
        self, email: Email, imap_account: ImapAccount, tmp_path: Path
    ) -> None:
        files: list[tuple[str | None, bytes]] = [
            ("../../../tmp/evasion.pdf", b"1"),
            ("/etc/passwd", b"2"),
            ("C:\\Windows\\system32\\config.pdf", b"3"),
            ("", b"4"),
            (None, b"5"),
            ("..", b"6"),
            ("{{ secrets.mot_de_passe }}.pdf", b"7"),
            ("x" * 400 + ".pdf", b"8"),
        ]
        imap_account.deliver(mail("<c@example.fr>", files))
        (record,) = email.read(**imap_params(imap_account), save_attachments_to="pièces")
        folder = (tmp_path / "pièces").resolve()
        saved = [Path(path) for path in record["attachments"]]
        assert len(saved) == 8, [p.name for p in saved]
        assert all(path.parent == folder for path in saved)
        assert [path.read_bytes() for path in saved] == [str(n).encode() for n in range(1, 9)]
        assert saved[0].name == "evasion.pdf" and saved[1].name == "passwd" and saved[2].name == "config.pdf"
        assert saved[3].name.startswith("piece-jointe") and saved[4].name.startswith("piece-jointe")
        assert saved[6].name == "{{ secrets.mot_de_passe }}.pdf"  # a name, never rendered
        assert len(saved[7].name) <= 150 and saved[7].suffix == ".pdf"
        assert not (tmp_path / "tmp").exists() and not Path("/tmp/evasion.pdf").exists()

    def test_a_message_over_max_size_is_not_downloaded_nor_moved(
        self, email: Email, imap_account: ImapAccount, tmp_path: Path, logs: list[str]
    ) -> None:
        imap_account.create_folder(CLASSE)
        imap_account.deliver(mail("<gros@example.fr>", [("énorme.pdf", os.urandom(300_000))], subject="Gros"))
        imap_account.deliver(mail("<petit@example.fr>", [("petit.pdf", b"%PDF")], subject="Petit"))
        records = email.read(
            **imap_params(imap_account), save_attachments_to="pièces", max_size=0.2, move_to="Classé"
        )
        assert [(r["subject"], r["too_large"], r["attachments"] != []) for r in records] == [
            ("Gros", True, False),
            ("Petit", False, True),
        ]
        assert records[0]["size"] > 300_000
        assert names(tmp_path / "pièces") == ["petit.pdf"]
        assert (
            count(imap_account) == 1 and count(imap_account, CLASSE) == 1
        )  # the large one stays for a person
        assert any("is over max_size (0.2 MB): not downloaded" in line for line in logs)

    def test_headers_only_lists_the_messages_without_their_bodies(
        self, email: Email, imap_account: ImapAccount, tmp_path: Path
    ) -> None:
        imap_account.deliver(
            mail("<liste@example.fr>", [("lettre.pdf", os.urandom(200_000))], subject="Liste")
        )
        (record,) = email.read(**imap_params(imap_account), headers_only=True)
        assert record["message_id"] == "<liste@example.fr>" and record["subject"] == "Liste"
        assert record["size"] > 200_000 and record["too_large"] is False
        assert (record["text"], record["attachments"], record["attachment_names"]) == ("", [], [])
        assert not any(path.suffix == ".pdf" for path in tmp_path.rglob("*"))  # nothing saved

    @pytest.mark.parametrize("message_id", ["", "  "])
    def test_an_empty_message_id_reads_nothing(
        self, email: Email, imap_account: ImapAccount, tmp_path: Path, message_id: str
    ) -> None:
        imap_account.deliver(mail("<i@example.fr>", [("lettre.pdf", b"%PDF")]))
        with pytest.raises(BusinessError, match="the Message-ID is empty"):
            email.read(**imap_params(imap_account), message_id=message_id, save_attachments_to="pièces")
        assert not (tmp_path / "pièces").exists()

    def test_a_line_break_in_the_message_id_is_refused_before_any_command(
        self, email: Email, imap_account: ImapAccount
    ) -> None:
        imap_account.deliver(mail("<d@example.fr>"))
        with pytest.raises(BusinessError, match=r"message_id: .* holds a control character"):
            email.read(**imap_params(imap_account), message_id="<d@example.fr>\r\nA1 DELETE INBOX")
        assert count(imap_account) == 1


def move(email: Email, account: ImapAccount, message_id: str, **overrides: Any) -> dict[str, Any]:
    return email.move(**imap_params(account, message_id=message_id, to="Classé", **overrides))


class TestMove:
    def test_moves_by_message_id_creating_the_folder_then_finds_it_there(
        self, email: Email, imap_account: ImapAccount, logs: list[str]
    ) -> None:
        imap_account.deliver(mail("<e1@example.fr>", subject="Premier"))
        imap_account.deliver(mail("<e2@example.fr>", subject="Second"))
        assert move(email, imap_account, "<e1@example.fr>") == {
            "moved": 1,
            "already_there": False,
            "folder": "Classé",
        }
        assert "created the folder 'Classé' in the mailbox " + imap_account.user in logs
        (moved,) = imap_account.messages(CLASSE)
        assert b"Subject: Premier" in moved[1]
        # Again (a resumed run): nothing moves, no error.
        assert move(email, imap_account, "<e1@example.fr>") == {
            "moved": 0,
            "already_there": True,
            "folder": "Classé",
        }
        assert count(imap_account, CLASSE) == 1 and count(imap_account) == 1
        assert "the message <e1@example.fr> is already in 'Classé': nothing to move" in logs

    def test_a_message_in_neither_folder_is_a_business_error(
        self, email: Email, imap_account: ImapAccount
    ) -> None:
        imap_account.deliver(mail("<f@example.fr>"))
        with pytest.raises(BusinessError) as caught:
            move(email, imap_account, "<inconnu@example.fr>")
        assert str(caught.value) == (
            f"the message <inconnu@example.fr> is neither in 'INBOX' nor in 'Classé' of the mailbox {imap_account.user}"
        )
        assert count(imap_account) == 1

    def test_a_missing_folder_without_create_is_a_configuration_error(
        self, email: Email, imap_account: ImapAccount
    ) -> None:
        imap_account.deliver(mail("<g@example.fr>"))
        with pytest.raises(ConfigurationError, match="has no folder 'Classé'"):
            move(email, imap_account, "<g@example.fr>", create=False)
        assert count(imap_account) == 1

    @pytest.mark.parametrize("message_id", ["", "   ", "<h@example.fr>\nA1 EXPUNGE"])
    def test_an_empty_or_injected_message_id_is_a_business_error(
        self, email: Email, imap_account: ImapAccount, message_id: str
    ) -> None:
        imap_account.deliver(mail("<h@example.fr>"))
        with pytest.raises(BusinessError):
            move(email, imap_account, message_id)
        assert count(imap_account) == 1


class TestCreateFolder:
    def test_creates_an_accented_folder_once(
        self, email: Email, imap_account: ImapAccount, logs: list[str]
    ) -> None:
        params = imap_params(imap_account, name="À vérifier")
        assert email.create_folder(**params) is True
        assert email.create_folder(**params) is False
        assert logs.count(f"created the folder 'À vérifier' in the mailbox {imap_account.user}") == 1
        assert imap_account.messages('"&AMA- v&AOk-rifier"') == []  # it exists, under its IMAP name

    @pytest.mark.parametrize("name", ["", "Classé\r\nA1 DELETE INBOX"])
    def test_an_empty_or_injected_name_is_a_business_error(
        self, email: Email, imap_account: ImapAccount, name: str
    ) -> None:
        with pytest.raises(BusinessError):
            email.create_folder(**imap_params(imap_account, name=name))
        assert imap_account.messages() == []  # INBOX still there
