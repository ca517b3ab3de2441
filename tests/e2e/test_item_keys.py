"""Item keys in real `robo` processes against the mock intranet: a duplicate or empty key enters nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, SECRETS, WORKFLOWS, Bot
from tests.mock_intranet.sample_data import SampleCase, generate_cases, make_siret, write_xlsx

pytestmark = pytest.mark.slow
SETUP = "Ouvrir le navigateur sur l'intranet"


def robo(*args: str, logs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", "run", *args, "--logs", str(logs)],
        cwd=ROOT,
        env={**os.environ, **SECRETS, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def audit_events(logs: Path) -> list[dict[str, Any]]:
    [audit] = logs.rglob("audit.jsonl")
    return [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines() if line.strip()]


def entry_workflow(tmp_path: Path, *, key_duplicates: str | None = None) -> Path:
    """The shipped data-entry workflow, up to its loop (the report of its numbers is not needed here)."""
    text = (WORKFLOWS / "saisie_dossiers.yaml").read_text(encoding="utf-8")
    text = text.split("  - name: Mettre en forme le compte rendu")[0].replace("    save: resultats\n", "")
    key_line = '    key: demande["Référence externe"]\n'
    assert key_line in text
    if key_duplicates:
        text = text.replace(key_line, f"{key_line}    key_duplicates: {key_duplicates}\n")
    path = tmp_path / "saisie.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def with_reference(case: SampleCase, reference: str) -> SampleCase:
    return dataclasses.replace(case, reference_externe=reference)


@pytest.mark.parametrize("key_duplicates", [None, "error"])
def test_a_key_shared_by_three_rows_enters_nothing_and_names_the_rows(
    bot: Bot, tmp_path: Path, key_duplicates: str | None
) -> None:
    cases = generate_cases(5, seed=10)
    cases = [with_reference(case, "D1") if index in (0, 2, 3) else case for index, case in enumerate(cases)]
    source = write_xlsx(cases, tmp_path / "demandes.xlsx")
    workflow = entry_workflow(tmp_path, key_duplicates=key_duplicates)
    logs = tmp_path / "logs"
    result = robo(str(workflow), "-i", f"fichier={source}", "-i", f"intranet={bot.intranet.url}", logs=logs)
    assert result.returncode == 1, result.stderr
    assert "the loop's key is not unique: 'D1' is the key of items 1, 3 and 4" in result.stderr
    assert "key_duplicates: number" in result.stderr
    assert bot.stored() == []
    events = audit_events(logs)
    assert [e for e in events if e["event"] == "step_started" and e.get("name") == SETUP] == []
    assert [e for e in events if e["event"] in ("loop_started", "item_started")] == []


def test_two_rows_without_a_reference_enter_nothing_and_are_named(bot: Bot, tmp_path: Path) -> None:
    cases = generate_cases(4, seed=11)
    cases = [with_reference(case, "") if index in (1, 3) else case for index, case in enumerate(cases)]
    source = write_xlsx(cases, tmp_path / "demandes.xlsx")
    logs = tmp_path / "logs"
    result = robo(
        str(entry_workflow(tmp_path)),
        "-i",
        f"fichier={source}",
        "-i",
        f"intranet={bot.intranet.url}",
        logs=logs,
    )
    assert result.returncode == 1, result.stderr
    assert "the loop's key is empty for items 2 and 4: nothing was done" in result.stderr
    assert bot.stored() == []
    assert [e for e in audit_events(logs) if e["event"] == "step_started" and e.get("name") == SETUP] == []


def test_numbered_duplicate_keys_enter_every_row_once_and_resume_the_refused_one(
    bot: Bot, tmp_path: Path
) -> None:
    cases = generate_cases(5, seed=12)
    cases = [with_reference(case, "D1") if index in (0, 1, 3) else case for index, case in enumerate(cases)]
    refused = dataclasses.replace(cases[1], siret=make_siret(random.Random(3), valid=False))
    source = write_xlsx([cases[0], refused, *cases[2:]], tmp_path / "demandes.xlsx")
    workflow = entry_workflow(tmp_path, key_duplicates="number")
    logs = tmp_path / "logs"
    args = [str(workflow), "-i", f"fichier={source}", "-i", f"intranet={bot.intranet.url}"]
    first = robo(*args, logs=logs)
    assert first.returncode == 3, first.stderr  # completed with errors: the second D1 was refused
    stored = bot.stored()
    assert sorted(case["nom"] for case in stored) == sorted(
        case.nom for case in cases if case is not cases[1]
    )
    [run_dir] = [path.parent for path in logs.rglob("audit.jsonl")]
    run_id = run_dir.name
    finished = {e["key"]: e["status"] for e in audit_events(logs) if e["event"] == "item_finished"}
    assert finished == {
        "D1": "done",
        "D1#2": "failed_business",
        cases[2].reference_externe: "done",
        "D1#3": "done",
        cases[4].reference_externe: "done",
    }
    write_xlsx(cases, source)  # an agent corrects the refused row, then resumes the run
    second = robo(*args, "--resume", run_id, logs=logs)
    assert second.returncode == 0, second.stderr
    stored = bot.stored()
    assert sorted(case["nom"] for case in stored) == sorted(case.nom for case in cases)  # each row once
    assert sorted(case["reference_externe"] for case in stored).count("D1") == 3
