"""The example data-entry workflow against the mock intranet: every record entered once, failures explained."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import WORKFLOWS, Bot
from tests.mock_intranet.faults import FaultConfig
from tests.mock_intranet.sample_data import SampleCase, generate_cases, write_xlsx

pytestmark = pytest.mark.slow
SAISIE = WORKFLOWS / "saisie_dossiers.yaml"
# Records shared by the four lanes: 25 each in `make test` (every lane takes records while the others submit theirs),
# 100 each in `make soak`.
LANE_RECORDS = int(os.environ.get("ROBO_LANE_RECORDS", "100"))


def spreadsheet(tmp_path: Path, cases: list[SampleCase]) -> Path:
    return write_xlsx(cases, tmp_path / "demandes.xlsx")


def same_case(stored: dict[str, Any], case: SampleCase) -> bool:
    expected = case.form_values()
    for field in ("nom", "prenom", "siret", "adresse", "code_postal", "ville", "courriel", "type_demande",
                  "priorite", "date_demande", "reference_externe", "observations"):  # fmt: skip
        if (stored[field] or "") != expected[field]:
            return False
    return Decimal(stored["montant"]) == case.montant and stored["pieces_fournies"] == case.pieces_fournies


def test_fifty_records_are_entered_once_with_every_field_right(bot: Bot, tmp_path: Path) -> None:
    cases = generate_cases(50, seed=21)
    source = spreadsheet(tmp_path, cases)
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    outcome, recorder = bot.run(SAISIE, fichier=str(source))
    assert outcome.status == "succeeded", outcome.diagnostics
    stored = {case["reference_externe"]: case for case in bot.stored()}
    assert len(stored) == 50
    assert all(same_case(stored[case.reference_externe], case) for case in cases)
    # The original spreadsheet is untouched; a copy carries the case numbers.
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before
    from openpyxl import load_workbook

    assert outcome.run_dir is not None
    workbook = load_workbook(outcome.run_dir / "artifacts" / "dossiers_saisis.xlsx", read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    workbook.close()
    header = list(rows[0])
    numbers = {
        row[header.index("Référence externe")]: row[header.index("Numéro de dossier")] for row in rows[1:]
    }
    assert numbers == {ref: case["numero"] for ref, case in stored.items()}
    assert len([e for e in recorder.of("item_finished") if e.status == "done"]) == 50


def test_refused_rows_are_business_errors_with_the_page_message(bot: Bot, tmp_path: Path) -> None:
    cases = generate_cases(12, invalid_ratio=0.25, seed=5)
    invalid = {case.reference_externe for case in cases if not case.valid}
    assert len(invalid) == 3
    outcome, recorder = bot.run(SAISIE, fichier=str(spreadsheet(tmp_path, cases)))
    assert outcome.status == "completed_with_errors"
    failed = {e.key: e for e in recorder.of("item_finished") if e.status != "done"}
    assert set(failed) == invalid
    assert {e.status for e in failed.values()} == {"failed_business"}
    assert all(
        "the page refused the data: Le dossier n'a pas été enregistré" in (e.error or "")
        for e in failed.values()
    )
    assert not [e for e in recorder.of("retry_scheduled") if e.item in invalid]
    assert {case["reference_externe"] for case in bot.stored()} == {
        c.reference_externe for c in cases
    } - invalid


def test_a_renamed_field_is_explained_with_evidence(bot: Bot, tmp_path: Path) -> None:
    bot.intranet.set_faults(FaultConfig(changed_layout=True))
    outcome, _ = bot.run(SAISIE, fichier=str(spreadsheet(tmp_path, generate_cases(1, seed=3))))
    assert outcome.status == "completed_with_errors"
    [diagnostic] = outcome.diagnostics
    assert "no field labelled 'Nom du demandeur'" in diagnostic.message
    assert "did you mean 'Nom de famille du demandeur'?" in (diagnostic.hint or "")
    assert outcome.run_dir is not None
    artifacts = sorted(p.name for p in (outcome.run_dir / "artifacts").iterdir())
    assert any(name.endswith(".png") for name in artifacts)
    assert any(name.endswith("trace.zip") for name in artifacts)
    assert bot.stored() == []
    report = (outcome.run_dir / "report.html").read_text(encoding="utf-8")
    assert "did you mean &#39;Nom de famille du demandeur&#39;?" in report
    assert report.count('src="data:image/png;base64,') >= 1  # the failure's screenshot travels inside


def test_an_expired_session_is_recovered_without_losing_a_record(bot: Bot, tmp_path: Path) -> None:
    cases = generate_cases(12, seed=8)
    url, headers = bot.intranet.url, bot.intranet.test_headers

    def expire_midway() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            count = httpx.get(f"{url}/api/test/dossiers", headers=headers, timeout=10).json()["counts"][
                "total"
            ]
            if count >= 4:
                httpx.post(f"{url}/api/test/sessions/expire", headers=headers, timeout=10).raise_for_status()
                return
            time.sleep(0.05)

    expirer = threading.Thread(target=expire_midway)
    expirer.start()
    outcome, recorder = bot.run(SAISIE, fichier=str(spreadsheet(tmp_path, cases)))
    expirer.join()
    assert outcome.status == "succeeded", outcome.diagnostics
    references = [case["reference_externe"] for case in bot.stored()]
    assert sorted(references) == sorted(c.reference_externe for c in cases)
    logins = [e for e in recorder.of("step_finished") if e.name == "Se connecter" and e.status == "succeeded"]
    assert len(logins) >= 2


def test_four_lanes_enter_every_record_once_without_duplicate(bot: Bot, tmp_path: Path) -> None:
    cases = generate_cases(LANE_RECORDS, seed=99)
    outcome, recorder = bot.run(SAISIE, fichier=str(spreadsheet(tmp_path, cases)), voies=4)
    assert outcome.status == "succeeded", outcome.diagnostics
    references = [case["reference_externe"] for case in bot.stored()]
    assert len(references) == LANE_RECORDS
    assert set(references) == {c.reference_externe for c in cases}
    lanes = {e.lane for e in recorder.of("item_finished")}
    assert lanes == {1, 2, 3, 4}
