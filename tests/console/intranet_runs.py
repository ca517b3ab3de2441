"""A run store filled by real runs on the mock intranet, made once per test session for the console's tests.

- `entered`: the example data-entry workflow, three requests entered (a case number to search for);
- `failed`: the same workflow while the intranet's labels are renamed: every item fails with a screenshot
  (the intranet is put right afterwards, so that retrying the run succeeds);
- `to_check`: a workflow that fails after the intranet saved the request, on the first and third of three
  requests (two items to check);
- `hostile`: a workflow whose name and one spreadsheet cell (an item's key) are `<script>` elements.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from runner.run import RunOutcome
from tests.e2e.conftest import WORKFLOWS, Bot
from tests.e2e.test_never_twice import workflow_text
from tests.mock_intranet.faults import FaultConfig
from tests.mock_intranet.sample_data import SampleCase, generate_cases, write_xlsx
from tests.mock_intranet.server import MockIntranet

SAISIE = WORKFLOWS / "saisie_dossiers.yaml"
HOSTILE_NAME = "Relevé <script>alert('nom')</script>"
HOSTILE_CELL = "<script>alert('cellule')</script>"
HOSTILE = f"""
name: "{HOSTILE_NAME}"
inputs:
  fichier: {{type: file}}
  intranet: {{type: string}}
steps:
  - name: Lire le relevé
    excel.read_rows: {{path: "{{{{ inputs.fichier }}}}"}}
    save: lignes
  - name: Relever chaque ligne
    for_each: "{{{{ lignes }}}}"
    as: ligne
    key: ligne["Référence"]
    steps:
      - log: "{{{{ ligne['Nom'] }}}}"
"""


@dataclass(frozen=True)
class FilledStore:
    """The logs folder (its `robo.db` is the run store), the runs, and what they entered."""

    logs: Path
    entered: RunOutcome
    failed: RunOutcome
    to_check: RunOutcome
    hostile: RunOutcome
    entered_cases: list[SampleCase]
    failed_cases: list[SampleCase]
    to_check_keys: list[str]


def hostile_sheet(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Référence", "Nom"])
    sheet.append(["REL-001", "Dupont"])
    sheet.append([HOSTILE_CELL, "Martin"])
    book.save(path)
    return path


def fill_store(intranet: MockIntranet, folder: Path) -> FilledStore:
    """Run the four workflows on `intranet`, their logs in `folder / "logs"` (one store)."""
    bot = Bot(intranet, folder)
    intranet.reset()

    cases = generate_cases(8, seed=1701)  # references REF-<year>-0001…8: one key per item, across the runs
    entered_cases, failed_cases, checked_cases = cases[0:3], cases[3:5], cases[5:8]
    entered, _ = bot.run(SAISIE, fichier=str(write_xlsx(entered_cases, folder / "demandes.xlsx")))
    assert entered.status == "succeeded", entered.diagnostics

    intranet.set_faults(FaultConfig(changed_layout=True))
    try:
        failed, _ = bot.run(SAISIE, fichier=str(write_xlsx(failed_cases, folder / "refusees.xlsx")))
    finally:
        intranet.set_faults(FaultConfig())
    assert failed.status in ("completed_with_errors", "failed"), failed.status

    typo = folder / "saisie_avec_faute.yaml"
    typo.write_text(workflow_text(checked=False), encoding="utf-8")
    to_check, _ = bot.run(typo, fichier=str(write_xlsx(checked_cases, folder / "a_verifier.xlsx")))
    assert to_check.status == "completed_with_errors", to_check.status

    hostile_file = folder / "releve.yaml"
    hostile_file.write_text(HOSTILE, encoding="utf-8")
    hostile, _ = bot.run(hostile_file, fichier=str(hostile_sheet(folder / "releve.xlsx")))
    assert hostile.status == "succeeded", hostile.diagnostics

    return FilledStore(
        logs=folder / "logs",
        entered=entered,
        failed=failed,
        to_check=to_check,
        hostile=hostile,
        entered_cases=entered_cases,
        failed_cases=failed_cases,
        to_check_keys=[case.reference_externe for case in checked_cases[0::2]],
    )
