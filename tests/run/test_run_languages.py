"""A failing run and `robo audit verify` as people read them: French under `LANG=fr_FR.UTF-8`, English under `LANG=C`.

Each run is a real `python -m runner.cli run` process started with only the language variables under test (see
`tests/test_translations.py`'s `robo`); the two runs are made once for the module and shared.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from robots.kit import set_language
from runner.events import ItemStatus, StepStatus, item_status_text, step_status_text
from tests.test_translations import robo

# D1 is done, D2 is refused by the data, D3 to D5 meet the same mistake in the workflow: the run stops after the
# third one, with a hint that says what to do.
FAILING = """\
name: Relance
steps:
  - for_each: ["D1", "D2", "D3", "D4", "D5", "D6"]
    as: dossier
    key: dossier
    steps:
      - fail: "le dossier {{ dossier }} est incomplet"
        when: dossier == "D2"
      - log: "saisi {{ dossier.numero_inconnu }}"
        when: dossier != "D1"
"""


@dataclass
class Run:
    result: subprocess.CompletedProcess[str]
    folder: Path
    run_id: str
    key: Path  # the audit key the run signed its log with (the suite's key changes with each test)


def _run(tmp_path_factory: pytest.TempPathFactory, lang: str) -> Run:
    folder = tmp_path_factory.mktemp(f"run-{lang.split('.')[0]}")
    (folder / "relance.yaml").write_text(FAILING, encoding="utf-8")
    key = folder / "audit.key"
    result = robo(
        "run",
        "relance.yaml",
        "--logs",
        "logs",
        cwd=folder,
        LANG=lang,
        ROBO_TIMEZONE="Europe/Paris",
        ROBO_AUDIT_KEY_FILE=str(key),
    )
    found = re.search(r"(\d{8}-\d{6}-[0-9a-f]+)", result.stderr)
    assert found, result.stderr
    return Run(result, folder, found[1], key)


@pytest.fixture(scope="module")
def french_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory, "fr_FR.UTF-8")


@pytest.fixture(scope="module")
def english_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory, "C")


def _lines(text: str) -> list[str]:
    """The console's lines without their time of day."""
    return [re.sub(r"^\d\d:\d\d:\d\d ", "", line) for line in text.splitlines()]


def test_a_failing_run_in_french(french_run: Run) -> None:
    result, run_id = french_run.result, french_run.run_id
    assert result.returncode == 1, result.stderr
    lines = _lines(result.stderr)
    assert f"traitement {run_id} de « Relance » commencé (heures en Europe/Paris)" in lines
    assert any(re.fullmatch(r"\[1/6\] D1 ✓ \(\d+,\d s\)", line) for line in lines), result.stderr
    assert any(
        line.startswith(
            "[2/6] D2 ✗ en échec : les données ont été refusées : l'étape « fail » a échoué (dossier D2)"
        )
        for line in lines
    ), result.stderr
    assert any(
        re.fullmatch(r"traitement échoué en \d+,\d s \(.*1 dossier traité, 4 en échec\)", line)
        for line in lines
    ), result.stderr
    # the failure that stopped the run, its hint, and where its records are
    assert (
        "error[workflow-error]: l'étape « log » a échoué : la même erreur sur 3 dossiers d'affilée, le traitement"
        " s'arrête : " in result.stderr
    )
    assert (
        f"  conseil : corrigez le workflow, puis reprenez : robo run relance.yaml --resume {run_id}" in lines
    )
    assert "  cause : modèle 'saisi {{ dossier.numero_inconnu }}'" in lines
    logs = french_run.folder / "logs" / "relance" / run_id
    assert f"rapport : {logs / 'report.html'}" in lines
    assert f"journal d'audit : {logs / 'audit.jsonl'}" in lines
    assert f"fichiers produits : {logs / 'artifacts'}" in lines
    words = re.sub(r"\S*/\S*", "", result.stderr).replace("robo run", "")  # paths and commands aside
    assert not re.search(r"\b(failed|step|item|run|report|audit log)\b", words), (
        "English left:\n" + result.stderr
    )


def test_the_same_run_in_english(english_run: Run) -> None:
    result, run_id = english_run.result, english_run.run_id
    assert result.returncode == 1, result.stderr
    lines = _lines(result.stderr)
    assert f"run {run_id} of 'Relance' started (times in Europe/Paris)" in lines
    assert any(re.fullmatch(r"\[1/6\] D1 ✓ \(\d+\.\d s\)", line) for line in lines), result.stderr
    assert any(
        line.startswith("[2/6] D2 ✗ failed: the data was refused: step 'fail' failed (item D2)")
        for line in lines
    ), result.stderr
    assert any(
        re.fullmatch(r"run failed in \d+\.\d s \(.*1 item done, 4 failed\)", line) for line in lines
    ), result.stderr
    assert (
        "error[workflow-error]: step 'log' failed: the same error on 3 items in a row, the run stops: "
        in result.stderr
    )
    assert f"  hint: fix the workflow, then resume: robo run relance.yaml --resume {run_id}" in lines
    assert "  caused by: template 'saisi {{ dossier.numero_inconnu }}'" in lines
    logs = english_run.folder / "logs" / "relance" / run_id
    assert f"report: {logs / 'report.html'}" in lines
    assert f"audit log: {logs / 'audit.jsonl'}" in lines
    assert f"artifacts: {logs / 'artifacts'}" in lines
    assert "traitement" not in result.stderr and "dossier traité" not in result.stderr


def _verify(run: Run, lang: str) -> subprocess.CompletedProcess[str]:
    return robo(
        "audit",
        "verify",
        run.run_id,
        "--logs",
        "logs",
        cwd=run.folder,
        LANG=lang,
        ROBO_AUDIT_KEY_FILE=str(run.key),
    )


def _tamper(run: Run) -> None:
    """Change one letter of the log's second record, as someone editing it by hand would."""
    log = run.folder / "logs" / "relance" / run.run_id / "audit.jsonl"
    lines = log.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"event"', b'"evenT"', 1)
    log.write_bytes(b"\n".join(lines))


def test_audit_verify_says_its_verdict_in_french_and_in_english(french_run: Run, english_run: Run) -> None:
    intact = _verify(french_run, "fr_FR.UTF-8")
    assert intact.returncode == 0, intact.stderr
    assert re.search(
        r": intact : \d+ enregistrements, chaîne d'empreintes à clé ininterrompue et scellée$",
        intact.stdout.strip(),
    ), intact.stdout
    same = _verify(english_run, "C")
    assert same.returncode == 0, same.stderr
    assert re.search(r": intact: \d+ records, keyed hash chain unbroken and sealed$", same.stdout.strip()), (
        same.stdout
    )

    _tamper(french_run)
    _tamper(english_run)
    tampered = _verify(french_run, "fr_FR.UTF-8")
    assert tampered.returncode == 1
    assert tampered.stdout.strip().endswith(
        ": altéré : ligne 2 : l'enregistrement a été modifié après son écriture, ou fabriqué sans la clé : il n'a pas"
        " été écrit par ce traitement"
    ), tampered.stdout
    english = _verify(english_run, "C")
    assert english.returncode == 1
    assert english.stdout.strip().endswith(
        ": tampered: line 2: the record was changed after it was written, or forged without the key: it was not"
        " written by this run"
    ), english.stdout


@pytest.fixture
def french() -> Iterator[None]:
    set_language("fr")
    yield
    set_language("en")


def test_item_and_step_statuses_read_as_words_in_french(french: None) -> None:
    assert item_status_text(ItemStatus.TO_CHECK) == "à vérifier"
    assert item_status_text(ItemStatus.DONE) == "traité"
    assert item_status_text(ItemStatus.FAILED_BUSINESS) == "en échec : les données ont été refusées"
    assert step_status_text(StepStatus.SUCCEEDED) == "réussie"
    assert step_status_text(StepStatus.SKIPPED) == "sautée"
    assert item_status_text("some_future_status") == "some_future_status"


def test_item_and_step_statuses_read_as_words_in_english() -> None:
    assert item_status_text(ItemStatus.TO_CHECK) == "to check"
    assert item_status_text(ItemStatus.SKIPPED) == "already done"
    assert item_status_text(ItemStatus.FAILED_WORKFLOW) == "failed: a mistake in the workflow"
    assert step_status_text(StepStatus.FAILED) == "failed"
