"""Each project `robo new` writes runs end to end as written, against the training systems, and does what its README
says: cases in the intranet, documents filed, letters sent by mail, a report of the intranet's cases, cases in the
desktop client.

The training systems are the suite's (the mock intranet and its mail server on free ports, the session's Xvfb);
the only inputs given are their addresses, in place of the fixed ports `robo intranet` listens on (which
`test_new.py` checks the templates name).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from runner.run import RunOptions, RunOutcome, run_workflow
from runner.scaffold import DESKTOP_DATABASE, NewProject, create_project
from tests.mock_desktop import read_cases
from tests.mock_desktop.fixtures import DisplayInfo
from tests.mock_intranet.accounts import DEFAULT_ACCOUNT
from tests.mock_intranet.sample_data import generate_cases
from tests.mock_intranet.server import MockIntranet
from tests.running import ROOT

pytestmark = pytest.mark.slow

SECRETS = {
    "ROBO_SECRET_IDENTIFIANT": DEFAULT_ACCOUNT.username,
    "ROBO_SECRET_MOT_DE_PASSE": DEFAULT_ACCOUNT.password,
}


def _rows(path: Path, sheet: str | None = None) -> list[dict[str, Any]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        worksheet = workbook[sheet] if sheet else workbook.active
        assert worksheet is not None
        rows = list(worksheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    if not rows:
        return []
    header = [str(cell) for cell in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def _run(project: NewProject, environ: dict[str, str], **inputs: Any) -> RunOutcome:
    options = RunOptions(inputs=inputs, logs_dir=project.folder / "logs", environ=environ)
    return run_workflow(project.workflow, options)


def _stored(intranet: MockIntranet) -> list[dict[str, Any]]:
    response = httpx.get(f"{intranet.url}/api/test/dossiers", headers=intranet.test_headers, timeout=10)
    response.raise_for_status()
    cases: list[dict[str, Any]] = response.json()["dossiers"]
    return cases


def test_saisie_enters_every_row_into_the_intranet_once(mock_intranet: MockIntranet, tmp_path: Path) -> None:
    project = create_project("saisie-subventions", "saisie", tmp_path)
    expected = _rows(project.folder / "data" / "demandes.xlsx")

    outcome = _run(project, SECRETS, intranet=mock_intranet.url)

    assert outcome.status == "succeeded", outcome
    stored = _stored(mock_intranet)
    assert sorted(case["reference_externe"] for case in stored) == sorted(
        row["Référence externe"] for row in expected
    )
    by_reference = {case["reference_externe"]: case for case in stored}
    for row in expected:
        case = by_reference[row["Référence externe"]]
        assert (case["nom"], case["prenom"], case["siret"]) == (
            row["Nom du demandeur"],
            row["Prénom"],
            row["SIRET"],
        )
    assert outcome.run_dir is not None
    report = _rows(outcome.run_dir / "artifacts" / "demandes_saisies.xlsx")
    assert {row["Référence externe"]: row["Numéro de dossier"] for row in report} == {
        case["reference_externe"]: case["numero"] for case in stored
    }

    again = _run(project, SECRETS, intranet=mock_intranet.url)
    assert again.status == "succeeded", again
    assert len(_stored(mock_intranet)) == len(expected), "a row entered twice"


def test_classement_files_a_copy_of_each_document_by_its_rules(tmp_path: Path) -> None:
    project = create_project("tri-courrier", "classement", tmp_path)
    incoming = project.folder / "data" / "entrants"
    before = sorted(path.name for path in incoming.iterdir())

    outcome = _run(project, {})

    assert outcome.status == "succeeded", outcome
    filed = project.folder / "classés"
    assert sorted(path.name for path in (filed / "factures").iterdir()) == [
        "facture_2026-0142.pdf",
        "facture_eau_mars.txt",
    ]
    assert [path.name for path in (filed / "notes").iterdir()] == ["note_service_reunion.txt"]
    assert [path.name for path in (filed / "courriers").iterdir()] == ["courrier_mme_durand.docx"]
    assert [path.name for path in (filed / "à trier").iterdir()] == ["photo_chantier.jpg"]
    assert sorted(path.name for path in incoming.iterdir()) == before, "the originals stay where they were"
    summary = {row["Document"]: row["Règle"] for row in _rows(filed / "synthèse.xlsx", "Classement")}
    assert summary["facture_eau_mars.txt"] == "Factures"
    assert summary["courrier_mme_durand.docx"] == "Courriers des usagers"
    assert len(summary) == len(before)


def test_publipostage_sends_each_letter_by_mail(mock_intranet: MockIntranet, tmp_path: Path) -> None:
    project = create_project("courriers", "publipostage", tmp_path)
    recipients = _rows(project.folder / "data" / "destinataires.xlsx")

    outcome = _run(
        project,
        {"ROBO_SECRET_SMTP_MOT_DE_PASSE": mock_intranet.smtp_account.password},
        smtp_hote=mock_intranet.smtp_host,
        smtp_port=mock_intranet.smtp_port,
    )

    assert outcome.status == "succeeded", outcome
    mails = mock_intranet.mail_store.wait_for(len(recipients), timeout=30)
    assert len(mails) == len(recipients)
    by_reference = {row["reference"]: row for row in recipients}
    for mail in mails:
        reference = next(ref for ref in by_reference if ref in mail.subject)
        assert by_reference[reference]["email"] in mail.header("To")
        [attachment] = mail.attachments
        assert (attachment.filename or "").endswith(".docx")
    assert outcome.run_dir is not None
    letters = sorted(path.name for path in (outcome.run_dir / "artifacts" / "courriers").iterdir())
    assert len(letters) == len(recipients)


def test_rapport_writes_every_case_of_the_intranet_and_the_urgent_ones(
    mock_intranet: MockIntranet, tmp_path: Path
) -> None:
    from tests.mock_intranet.http_agent import IntranetAgent

    with IntranetAgent(mock_intranet.url) as agent:
        agent.login(DEFAULT_ACCOUNT.username, DEFAULT_ACCOUNT.password)
        for case in generate_cases(23, seed=19):  # more than one page of 20
            assert agent.submit_case(case.form_values()).numero
    stored = _stored(mock_intranet)
    urgent = sorted(case["numero"] for case in stored if case["priorite"] == "Urgente")
    assert urgent, "the sample has urgent cases"
    project = create_project("rapport-mensuel", "rapport", tmp_path)

    outcome = _run(project, SECRETS, intranet=mock_intranet.url)

    assert outcome.status == "succeeded", outcome
    workbook = project.folder / "rapports" / "dossiers.xlsx"
    every = _rows(workbook, "Dossiers")
    assert [row["Numéro"] for row in every] == sorted(case["numero"] for case in stored)
    by_number = {case["numero"]: case for case in stored}
    for row in every:
        assert row["Référence externe"] == (by_number[row["Numéro"]]["reference_externe"] or None)
    assert [row["Numéro"] for row in _rows(workbook, "Urgents")] == urgent


def test_bureau_enters_every_row_into_the_desktop_client(xvfb_display: DisplayInfo, tmp_path: Path) -> None:
    project = create_project("saisie-bureau", "bureau", tmp_path)
    expected = _rows(project.folder / "data" / "demandes.xlsx")
    # As a person who installed Rob'O runs it: `robo` on the PATH, the project's folder the current one.
    environment = {
        **os.environ,
        **SECRETS,
        "DISPLAY": xvfb_display.name,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-m", "runner.cli", "run", "bureau.yaml"],
        cwd=project.folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    cases = read_cases(project.folder / "donnees_bureau" / DESKTOP_DATABASE)
    assert [case.reference for case in cases] == [row["Référence"] for row in expected]
    assert [(case.nom, case.type_demande) for case in cases] == [
        (row["Nom"], row["Type de demande"]) for row in expected
    ]
