"""The letter mail-merge example workflow, run whole against the mock mail server."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest

from runner.language.templating import date_fr
from runner.run import RunOptions, RunOutcome, run_workflow
from tests.mock_intranet.fixtures import SmtpEndpoint
from tests.mock_intranet.mail_store import StoredMail

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "workflows" / "publipostage_courriers.yaml"
RECIPIENTS = ROOT / "workflows" / "data" / "publipostage" / "destinataires.xlsx"


def run(tmp_path: Path, smtp: SmtpEndpoint, password: str | None = None, **inputs: Any) -> RunOutcome:
    options = RunOptions(
        logs_dir=tmp_path / "logs",
        inputs={
            "smtp_hote": smtp.host,
            "smtp_port": smtp.port,
            "smtp_securite": "starttls",
            "smtp_certificat": str(smtp.certificate),
            "smtp_utilisateur": smtp.username,
            **inputs,
        },
        environ={"ROBO_SECRET_SMTP_MOT_DE_PASSE": password or smtp.password},
    )
    return run_workflow(WORKFLOW, options)


def by_recipient(mails: list[StoredMail]) -> dict[str, StoredMail]:
    return {address: mail for mail in mails for address in mail.envelope_to}


def letter_text(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    lines = [paragraph.text for paragraph in document.paragraphs]
    lines += ["\t".join(cell.text for cell in row.cells) for table in document.tables for row in table.rows]
    return "\n".join(lines)


def report(outcome: RunOutcome) -> list[dict[str, str]]:
    assert outcome.run_dir is not None
    text = (outcome.run_dir / "artifacts" / "compte_rendu_envois.csv").read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


class TestPublipostage:
    def test_every_recipient_receives_their_own_letter(
        self, tmp_path: Path, smtp_endpoint: SmtpEndpoint
    ) -> None:
        outcome = run(tmp_path, smtp_endpoint)
        assert outcome.status == "succeeded", outcome.diagnostics

        mails = by_recipient(smtp_endpoint.store.wait_for(3))
        assert sorted(mails) == [
            "eloise.lefevre@example.fr",
            "francois.nguyen@example.fr",
            "zoe.doeuf@example.fr",
        ]
        today = date_fr(date.today())

        eloise = mails["eloise.lefevre@example.fr"]
        assert eloise.tls and eloise.authenticated_as == smtp_endpoint.username
        assert eloise.header("To") == "Éloïse Lefèvre <eloise.lefevre@example.fr>"
        assert eloise.subject == "Votre dossier PC-2026-0042 : Permis de construire — pièces complémentaires"
        assert "avant le 1er avril 2026" in eloise.body()
        (attachment,) = eloise.attachments
        assert attachment.filename == "pc-2026-0042.docx"
        text = letter_text(attachment.content)
        assert "Madame Éloïse Lefèvre\n12 rue de l'Église\n69001 Lyon" in text
        assert f"Saint-Exemple, le {today}" in text
        assert "déposée le 3 février 2026" in text
        assert "1\tPlan de masse coté\n2\tNotice descriptive du projet" in text
        assert "Claire Dubois, responsable du service de l'urbanisme" in text
        assert "sans réponse" not in text  # no reminder paragraph for her
        assert "{{" not in text and "{%" not in text

        francois = letter_text(mails["francois.nguyen@example.fr"].attachments[0].content)
        assert (
            "Monsieur François Nguyễn\n3 allée des Châtaigniers\nRésidence Les Pins\n13008 Marseille"
            in francois
        )
        assert "sans réponse" in francois  # his letter is a reminder
        assert "1\tPhotographie de l'environnement proche" in francois
        zoe = letter_text(mails["zoe.doeuf@example.fr"].attachments[0].content)
        assert "Lieu-dit « La Côte »" in zoe
        assert "3\tAttestation de l'architecte" in zoe

        # The sent letters are kept in the run's folder, and the report ties each one to its Message-ID.
        assert outcome.run_dir is not None
        kept = outcome.run_dir / "artifacts" / "courriers" / "pc-2026-0042.docx"
        assert kept.read_bytes() == attachment.content
        rows = {row["Référence"]: row for row in report(outcome)}
        assert rows["PC-2026-0042"]["Message-ID"] == eloise.header("Message-ID")
        assert {row["Statut de l'envoi"] for row in rows.values()} == {"done"}

    def test_a_bad_row_is_reported_and_the_others_are_sent(
        self, tmp_path: Path, smtp_endpoint: SmtpEndpoint
    ) -> None:
        recipients = tmp_path / "destinataires.xlsx"
        shutil.copy(RECIPIENTS, recipients)
        workbook = openpyxl.load_workbook(recipients)
        workbook.active["H3"] = "francois.nguyen@"  # his email address, cut short
        workbook.save(recipients)
        workbook.close()

        outcome = run(tmp_path, smtp_endpoint, destinataires=str(recipients))

        assert outcome.status == "completed_with_errors", outcome.diagnostics
        assert sorted(by_recipient(smtp_endpoint.store.wait_for(2))) == [
            "eloise.lefevre@example.fr",
            "zoe.doeuf@example.fr",
        ]
        rows = {row["Référence"]: row for row in report(outcome)}
        assert rows["DP-2026-0107"]["Statut de l'envoi"] == "failed_business"
        assert (
            "'François Nguyễn <francois.nguyen@>' is not an email address"
            in rows["DP-2026-0107"]["Motif de l'échec"]
        )
        assert rows["PA-2026-0003"]["Statut de l'envoi"] == "done"

    def test_a_wrong_password_sends_nothing_and_never_shows_the_password(
        self, tmp_path: Path, smtp_endpoint: SmtpEndpoint
    ) -> None:
        outcome = run(tmp_path, smtp_endpoint, password="Mauvais-mot-de-passe-42")
        assert outcome.status != "succeeded"
        assert smtp_endpoint.store.count() == 0
        assert outcome.run_dir is not None
        audit = (outcome.run_dir / "audit.jsonl").read_text(encoding="utf-8")
        assert "refused the login of 'robot'" in audit
        assert "Mauvais-mot-de-passe-42" not in audit

    @pytest.mark.slow
    @pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
    def test_letters_are_sent_as_pdf_when_asked(self, tmp_path: Path, smtp_endpoint: SmtpEndpoint) -> None:
        from pypdf import PdfReader

        outcome = run(tmp_path, smtp_endpoint, en_pdf=True)
        assert outcome.status == "succeeded", outcome.diagnostics
        mails = by_recipient(smtp_endpoint.store.wait_for(3))
        (attachment,) = mails["zoe.doeuf@example.fr"].attachments
        assert attachment.filename == "pa-2026-0003.pdf"
        assert attachment.content_type == "application/pdf"
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(attachment.content)).pages)
        assert "Zoë Dœuf-Ménard" in text
