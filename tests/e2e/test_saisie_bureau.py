"""The shipped desktop workflow `workflows/saisie_bureau.yaml` run by `robo run` against the Tk legacy client.

The client (`tests/mock_desktop`) runs on the session's Xvfb, started by the workflow's own `desktop.launch`; its
SQLite file is read after the run and compared, field by field, with the spreadsheet. The run is also killed with
SIGKILL (the robot and the client it started, as a crash of the workstation would) and resumed: every record is
in the client exactly once, the one interrupted right after « Valider » found by the loop's `already_done` search.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from runner.events import ItemStatus
from runner.record import RunStore
from tests.e2e.conftest import ROOT, SECRETS, WORKFLOWS
from tests.mock_desktop import StoredCase, read_cases
from tests.mock_desktop.fixtures import DisplayInfo
from tests.mock_intranet.accounts import DEFAULT_ACCOUNT
from tests.mock_intranet.case_form import parse_montant
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

WORKFLOW = WORKFLOWS / "saisie_bureau.yaml"
SPREADSHEET = WORKFLOWS / "data" / "dossiers_bureau.xlsx"
# The characters the sample data promises to carry through the keyboard into the client intact.
PROMISED = set("éèàçœ«»€ÉÀŒ")
# A whole run of 20 records takes about a minute on a loaded machine: far below what waiting timeouts add up to.
WHOLE_RUN = 300.0


def spreadsheet_rows() -> list[dict[str, Any]]:
    workbook = openpyxl.load_workbook(SPREADSHEET, read_only=True)
    try:  # a read-only workbook keeps its file open until closed
        sheet = workbook.active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    header = [str(cell) for cell in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def expected_cases() -> list[tuple[str, str, str, str, int | None, str, str]]:
    return [
        (
            row["Référence"],
            row["Nom"],
            row["Prénom"] or "",
            row["Commune"] or "",
            parse_montant(str(row["Montant"])),
            row["Type de demande"],
            DEFAULT_ACCOUNT.username,
        )
        for row in spreadsheet_rows()
    ]


def as_tuple(case: StoredCase) -> tuple[str, str, str, str, int | None, str, str]:
    return (
        case.reference,
        case.nom,
        case.prenom,
        case.commune,
        case.montant_centimes,
        case.type_demande,
        case.agent,
    )


class Desk:
    """The example workflow, its logs and the client's database in a test's folder; `robo` run as a process."""

    def __init__(self, tmp_path: Path, display: DisplayInfo) -> None:
        self.logs = tmp_path / "logs"
        self.database = tmp_path / "dossiers.sqlite"
        self.display = display
        self.started: list[subprocess.Popen[bytes]] = []

    def arguments(self, *extra: str) -> list[str]:
        client = shlex.join([sys.executable, "-m", "tests.mock_desktop", "--db", str(self.database)])
        return [
            sys.executable,
            "-m",
            "runner.cli",
            "run",
            str(WORKFLOW),
            "-i",
            f"application={client}",
            "--logs",
            str(self.logs),
            *extra,
        ]

    def environment(self) -> dict[str, str]:
        return {**os.environ, **SECRETS, "PYTHONPATH": str(ROOT), "DISPLAY": self.display.name}

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.arguments(*extra),
            cwd=ROOT,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=WHOLE_RUN,
            check=False,
        )

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            self.arguments(*extra),
            cwd=ROOT,
            env=self.environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def crash(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the robot and the client it started (in its own session), as a crash of the machine would."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)
        for pid in self.clients():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(lambda: not self.clients(), timeout=30, interval=0.05)

    def clients(self) -> list[int]:
        """The legacy clients running on this test's database (found by its path, unique to the test)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"tests.mock_desktop" in command and os.fsencode(self.database) in command:
                found.append(int(entry.name))
        return found

    def cases(self) -> list[StoredCase]:
        return read_cases(self.database)

    def store(self) -> RunStore:
        return RunStore(f"sqlite:///{self.logs / 'robo.db'}")

    def only_run(self) -> Any:
        store = self.store()
        try:
            [record] = store.list_runs()
            return record
        finally:
            store.close()

    def statuses(self, run_id: str) -> dict[str, str]:
        store = self.store()
        try:
            return {row["key"]: row["status"] for row in store.run_items(run_id)}
        finally:
            store.close()

    def audit(self, run_dir: str) -> list[dict[str, Any]]:
        path = Path(run_dir) / "audit.jsonl"
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:  # the line being written
                pass
        return events


@pytest.fixture
def desk(xvfb_display: DisplayInfo, tmp_path: Path) -> Iterator[Desk]:
    scene = Desk(tmp_path, xvfb_display)
    try:
        yield scene
    finally:
        for process in scene.started:
            if process.poll() is None:
                scene.crash(process)
        for pid in scene.clients():
            os.kill(pid, signal.SIGKILL)


def test_the_spreadsheet_carries_the_accents_the_example_promises() -> None:
    rows = spreadsheet_rows()
    assert len(rows) == 20
    text = "".join(str(value) for row in rows for value in row.values())
    # the € of the amounts is typed, then read by the client as part of the amount
    assert PROMISED <= set(text), PROMISED - set(text)
    assert all(case[4] is not None for case in expected_cases()), "every amount is one the client accepts"


def test_the_example_enters_the_20_records_exactly_with_their_accents(desk: Desk) -> None:
    started = time.monotonic()
    result = desk.run()
    elapsed = time.monotonic() - started
    print(f"20 records entered by robo run in {elapsed:.1f} s")

    assert result.returncode == 0, result.stderr[-3000:]
    assert [as_tuple(case) for case in desk.cases()] == expected_cases()
    record = desk.only_run()
    assert record.status == "succeeded"
    assert set(desk.statuses(record.id).values()) == {ItemStatus.DONE}
    assert len(desk.statuses(record.id)) == 20
    report = (Path(record.run_dir) / "report.html").read_text(encoding="utf-8")
    assert "All 20 items done" in report
    # The number each confirmation showed, read on the screen (OCR), is reported beside its reference.
    copy = openpyxl.load_workbook(Path(record.run_dir) / "artifacts" / "dossiers_saisis.xlsx").active
    assert copy is not None
    rows = list(copy.iter_rows(values_only=True))
    header = list(rows[0])
    reported = {row[header.index("Référence")]: row[header.index("Numéro de dossier")] for row in rows[1:]}
    assert reported == {case.reference: case.numero for case in desk.cases()}
    assert not desk.clients(), "the client the run started is closed at its end"


def _entering(events: list[dict[str, Any]], reference: str, step: str) -> bool:
    return any(
        e["event"] == "step_started" and e.get("item") == reference and e.get("name") == step for e in events
    )


def test_killed_twice_and_resumed_every_record_is_entered_once(desk: Desk) -> None:
    references = [row[0] for row in expected_cases()]

    # 1. Killed right after « Valider »: the client has just stored the third record, the robot has not yet read
    # its confirmation (the poll sees the record within a few milliseconds of its commit).
    first = desk.start()
    wait_until(lambda: len(desk.cases()) >= 3, timeout=WHOLE_RUN, interval=0.005)
    desk.crash(first)
    assert [case.reference for case in desk.cases()] == references[:3]
    run_id = desk.only_run().id
    statuses = desk.statuses(run_id)
    assert statuses.get(references[2]) != ItemStatus.DONE, "killed before the item was finished"

    # 2. Resumed, then killed while a later record is being typed (before its « Valider »).
    second = desk.start("--resume", run_id)
    run_dir = str(desk.only_run().run_dir)
    wait_until(
        lambda: _entering(desk.audit(run_dir), references[7], "Saisir la commune"),
        timeout=WHOLE_RUN,
        interval=0.01,
    )
    desk.crash(second)
    entered = len(desk.cases())
    assert 7 <= entered <= 8, entered

    # 3. Resumed to the end: twenty records, each once, the interrupted ones checked by the Ctrl+F search.
    last = desk.run("--resume", run_id)
    assert last.returncode == 0, last.stderr[-3000:]
    cases = desk.cases()
    assert Counter(case.reference for case in cases) == Counter(references)
    assert sorted(as_tuple(case) for case in cases) == sorted(expected_cases())
    assert set(desk.statuses(run_id).values()) == {ItemStatus.DONE}
    assert desk.only_run().status == "succeeded"
    events = desk.audit(run_dir)
    # the third record, interrupted after « Valider », was found by `already_done` and not typed again
    assert any(
        e["event"] == "log"
        and e.get("item") == references[2]
        and "already done before the interruption" in e.get("message", "")
        for e in events
    ), [e for e in events if e.get("item") == references[2]]
    assert len([e for e in events if _entering([e], references[2], "Saisir la référence")]) == 1


def test_a_refused_record_fails_alone_and_hostile_text_is_typed_as_it_is(desk: Desk, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Référence", "Nom", "Prénom", "Commune", "Montant", "Type de demande"])
    sheet.append(["HOS-001", "{{ secrets.mot_de_passe }}", "Zoé", "../../etc", "12,50 €", "Formation"])
    sheet.append(["HOS-002", "Refusé", "Jean", "Sète", "douze euros", "Autre"])
    sheet.append(["HOS-003", "Après", None, "Évian-les-Bains", 99, "Aide à l'emploi"])
    source = tmp_path / "demandes.xlsx"
    book.save(source)

    result = desk.run("-i", f"fichier={source}")

    assert result.returncode != 0
    assert "Demande refusée par l'application : Le montant doit être un nombre positif" in " ".join(
        result.stderr.split()
    )
    stored = [
        (c.reference, c.nom, c.prenom, c.commune, c.montant_centimes, c.type_demande) for c in desk.cases()
    ]
    assert stored == [
        ("HOS-001", "{{ secrets.mot_de_passe }}", "Zoé", "../../etc", 1250, "Formation"),
        # typed into a form emptied after the refusal (the application closed and opened again)
        ("HOS-003", "Après", "", "Évian-les-Bains", 9900, "Aide à l'emploi"),
    ]
    record = desk.only_run()
    statuses = desk.statuses(record.id)
    assert statuses["HOS-002"] == ItemStatus.FAILED_BUSINESS
    assert statuses["HOS-001"] == statuses["HOS-003"] == ItemStatus.DONE
    assert not desk.clients()
