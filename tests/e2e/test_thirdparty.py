"""The browser robot on third-party web applications no one here wrote: a Django admin and a Flask-Admin site.

Each test runs real `robo` processes on workflows written the way the docs tell a user to (labels as they read
on the page, a straight apostrophe, no colon), in French and in English, and checks what the site stored.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from runner.events import ItemStatus
from runner.record import RunStore
from tests.e2e.conftest import ROOT
from tests.thirdparty.sites import FACES, PASSWORD, USERNAME, Face, Site

pytestmark = pytest.mark.slow

COLUMNS = [
    "Référence externe",
    "Demandeur",
    "Nom d'usage",
    "Service",
    "Urgent",
    "Date de dépôt",
    "Commentaire",
]
NAMES = ["Élodie Bénard", "François Lœb", "Zoé Nguyễn", "Anaïs Çelik", "Jérôme Dupré", "Gaëlle Ménard"]
USAGE = ["D'Artagnan", "L’Hôpital", "", "Müller-Noël", "Ô'Brien", ""]
SERVICES = ["État civil", "Urbanisme", "Action sociale"]
SERVICE_CODES = {"État civil": "etat_civil", "Urbanisme": "urbanisme", "Action sociale": "social"}


@pytest.fixture(scope="session", params=sorted(FACES), ids=lambda key: "-".join(key))
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A third-party site in its language, shared by the tests (each uses its own references)."""
    face = FACES[request.param]
    started = Site(face, tmp_path_factory.mktemp(f"{face.framework}-{face.lang}"))
    started.start()
    yield started
    started.stop()


# What the engine does with a site's answers (a server killed mid-submit, a label's typo, a wrong password) is
# checked on one face of each framework, the two languages crossed; what depends on a page's words, on all four.
# Without pytest-xdist, pytest orders the tests by the position of their parameter in its list: these two faces
# keep each site's tests together (the other crossing would start two of the sites twice).
one_face_per_framework = pytest.mark.parametrize(
    "site", [("django", "fr"), ("flask", "en")], indirect=True, ids=lambda key: "-".join(key)
)


@pytest.fixture(autouse=True)
def running(site: Site) -> Site:
    site.ensure_running()  # a test that killed it may have left it down
    return site


def rows(prefix: str, count: int, face: Face) -> list[dict[str, Any]]:
    result = []
    for number in range(count):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=7 * number)
        result.append(
            {
                "Référence externe": f"{prefix}-{number:03d}",
                "Demandeur": NAMES[number % len(NAMES)],
                "Nom d'usage": USAGE[number % len(USAGE)],
                "Service": SERVICES[number % len(SERVICES)],
                "Urgent": ("Oui" if face.lang == "fr" else "Yes") if number % 3 == 0 else "Non",
                # the page's own format: Django's French admin shows 31/12/2026, the others ISO dates
                "Date de dépôt": day.strftime("%d/%m/%Y")
                if (face.framework, face.lang) == ("django", "fr")
                else day.isoformat(),
                "Commentaire": f"Pièce reçue le {day:%d/%m} : à vérifier.\nRappeler l’usager « {number} ».",
            }
        )
    return result


def write_rows(records: list[dict[str, Any]], path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(COLUMNS)
    for record in records:
        sheet.append([record[column] for column in COLUMNS])
    book.save(path)
    return path


def workflow(face: Face, *, steps: str | None = None, checked: bool = True) -> str:
    """A data-entry workflow as a user writes it from what the site's pages show."""
    entry = (
        steps
        or f"""      - browser.goto: {{url: "{{{{ inputs.site }}}}{face.add_path}"}}
      - browser.fill_form:
          fields: "{{{{ demande }}}}"
          submit: {face.save_button}
          error_when: {{css: "{face.refused_css}"}}
"""
    )
    text = f"""
name: Saisie des dossiers ({face.framework}, {face.lang})
inputs:
  fichier: {{type: file}}
  site: {{type: string}}
secrets: [identifiant, mot_de_passe]
defaults:
  timeout: 10
steps:
  - excel.read_rows: {{path: "{{{{ inputs.fichier }}}}"}}
    save: demandes
  - name: Saisir chaque demande
    for_each: "{{{{ demandes }}}}"
    as: demande
    key: demande["Référence externe"]
    setup:
      - browser.open: {{url: "{{{{ inputs.site }}}}{face.login_path}"}}
      - browser.fill: {{label: "{face.username}", value: "{{{{ secrets.identifiant }}}}"}}
      - browser.fill: {{label: {face.password}, value: "{{{{ secrets.mot_de_passe }}}}"}}
      - browser.click: {{role: "button:{face.login_button}", error_when: {{css: "{face.refused_css}"}}}}
    steps:
{entry}"""
    if checked:
        text += f"""    already_done:
      - browser.goto: {{url: "{{{{ inputs.site }}}}{face.list_path}{{{{ demande['Référence externe'] | urlencode }}}}"}}
      - browser.exists: {{text: "{{{{ demande['Référence externe'] }}}}", exact: true}}
"""
    return text


class Scene:
    """A workflow, its rows and its logs folder for one test on one site."""

    def __init__(self, site: Site, tmp_path: Path, prefix: str, count: int, **workflow_options: Any) -> None:
        self.site = site
        self.prefix = f"{prefix}-{site.face.framework}-{site.face.lang}"
        self.records = rows(self.prefix, count, site.face)
        self.source = write_rows(self.records, tmp_path / "demandes.xlsx")
        self.workflow = tmp_path / "saisie.yaml"
        self.workflow.write_text(workflow(site.face, **workflow_options), encoding="utf-8")
        self.logs = tmp_path / "logs"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "runner.cli", *args, "--logs", str(self.logs)]

    def env(self, password: str = PASSWORD) -> dict[str, str]:
        return {
            **os.environ,
            "ROBO_SECRET_IDENTIFIANT": USERNAME,
            "ROBO_SECRET_MOT_DE_PASSE": password,
            "PYTHONPATH": str(ROOT),
        }

    def run_args(self) -> list[str]:
        return ["run", str(self.workflow), "-i", f"fichier={self.source}", "-i", f"site={self.site.url}"]

    def robo(self, *args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*(args or self.run_args())),
            cwd=ROOT,
            env=self.env(password),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def stored(self) -> list[dict[str, Any]]:
        return self.site.records(self.prefix)

    def statuses(self) -> dict[str, str]:
        """Each item's status in the last run, by its key."""
        store = RunStore(f"sqlite:///{self.logs / 'robo.db'}")
        try:
            run_id = store.list_runs(limit=1)[0].id
            return {row["key"]: row["status"] for row in store.run_items(run_id)}
        finally:
            store.close()

    def run_id(self) -> str:
        store = RunStore(f"sqlite:///{self.logs / 'robo.db'}")
        try:
            return store.list_runs(limit=1)[0].id
        finally:
            store.close()


def expected_date(text: str) -> str:
    if "/" in text:
        day, month, year = text.split("/")
        return f"{year}-{month}-{day}"
    return text


def test_rows_with_accents_a_select_a_checkbox_a_date_and_a_comment_are_entered_exactly(
    site: Site, tmp_path: Path
) -> None:
    scene = Scene(site, tmp_path, "SAISIE", 20)
    result = scene.robo()
    assert result.returncode == 0, result.stderr[-3000:]
    stored = scene.stored()
    assert [record["reference"] for record in stored] == [r["Référence externe"] for r in scene.records]
    for record, row in zip(stored, scene.records, strict=True):
        assert record["demandeur"] == row["Demandeur"]
        assert (record["nom_usage"] or "") == row["Nom d'usage"]
        assert record["service"] == SERVICE_CODES[row["Service"]]
        assert bool(record["urgent"]) == (row["Urgent"] in ("Oui", "Yes"))
        assert str(record["date_depot"]) == expected_date(row["Date de dépôt"])
        # a browser sends a text area's line breaks as CRLF (HTML's rule): the text is otherwise the same
        assert record["commentaire"].replace("\r\n", "\n") == row["Commentaire"]


def test_a_value_too_long_is_refused_with_the_field_named(site: Site, tmp_path: Path) -> None:
    scene = Scene(site, tmp_path, "LONG", 3)
    scene.records[1]["Demandeur"] = "Marie-Bénédicte de La Tour"  # 26 characters, the field holds 14
    write_rows(scene.records, scene.source)
    result = scene.robo()
    assert result.returncode != 0
    assert [record["reference"] for record in scene.stored()] == [
        scene.records[0]["Référence externe"],
        scene.records[2]["Référence externe"],
    ]
    # the refusal says which field, and the framework's own words for the limit
    limit = {
        ("django", "fr"): "au plus 14 caractères",
        ("django", "en"): "at most 14 characters",
        ("flask", "fr"): "14",
        ("flask", "en"): "14",
    }[(site.face.framework, site.face.lang)]
    lines = [line for line in result.stderr.splitlines() if limit in line]
    assert any("Demandeur" in line for line in lines), result.stderr[-3000:]


def test_an_ambiguous_text_click_is_an_error_that_lists_the_candidates(site: Site, tmp_path: Path) -> None:
    if site.face.framework == "flask":
        pytest.skip(
            "Flask-Admin's add page repeats no text in equally good places (its two 'Dossier' differ)"
        )
    steps = f"""      - browser.goto: {{url: "{{{{ inputs.site }}}}{site.face.add_path}"}}
      - browser.click: {{text: {site.face.add_text}}}
"""
    scene = Scene(site, tmp_path, "AMBIGU", 1, steps=steps, checked=False)
    result = scene.robo()
    assert result.returncode != 0
    assert scene.stored() == []
    output = result.stderr
    assert "exact" in output and "within" in output and "nth" in output, output[-3000:]
    assert output.count(site.face.add_text) >= 3, output[-3000:]  # the step's, and two candidates at least


@one_face_per_framework
def test_the_server_killed_during_a_submit_then_runs_retry_enters_no_duplicate(
    site: Site, tmp_path: Path
) -> None:
    scene = Scene(site, tmp_path, "CRASH", 5)
    site.crash_on_next_save()
    first = scene.robo()
    assert first.returncode != 0
    assert len(scene.stored()) == 1  # the first record was saved before the server died
    # the page that did not load is a failure of the site, the item maybe entered: never refused data
    crashed = scene.records[0]["Référence externe"]
    assert scene.statuses()[crashed] in (ItemStatus.TO_CHECK, ItemStatus.FAILED_APPLICATION), first.stderr[
        -3000:
    ]
    site.ensure_running()
    retry = scene.robo("runs", "retry", scene.run_id())
    assert retry.returncode == 0, retry.stderr[-3000:]
    references = Counter(record["reference"] for record in scene.stored())
    assert references == Counter(row["Référence externe"] for row in scene.records)  # each once


HINT = "did you mean 'Date de dépôt"


@one_face_per_framework
def test_a_label_typo_fails_with_a_live_did_you_mean_and_stops_after_three_items(
    site: Site, tmp_path: Path
) -> None:
    scene = Scene(site, tmp_path, "TYPO", 10)
    for record in scene.records:
        record["Date du dépôt"] = record.pop("Date de dépôt")  # the user's typo, in the column title
    COLUMNS_TYPO = [("Date du dépôt" if c == "Date de dépôt" else c) for c in COLUMNS]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(COLUMNS_TYPO)
    for record in scene.records:
        sheet.append([record[column] for column in COLUMNS_TYPO])
    book.save(scene.source)
    process = subprocess.Popen(
        scene.command(*scene.run_args()),
        cwd=ROOT,
        env=scene.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    # the items the store had seen fail when the first did-you-mean came (or why it could not be read)
    failed_when_hinted: list[int | str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if HINT in line and not failed_when_hinted:
                try:
                    failed_when_hinted.append(Counter(scene.statuses().values())[ItemStatus.FAILED_WORKFLOW])
                except Exception as error:  # said by the assertion below, not lost in this thread
                    failed_when_hinted.append(repr(error))
            seen.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(timeout=30)
        assert process.stdout is not None
        process.stdout.close()
    output = "".join(seen)
    assert HINT in output, output[-3000:]
    assert isinstance(failed_when_hinted[0], int), failed_when_hinted
    assert failed_when_hinted[0] < 3, "the first did-you-mean came once the run was over, not live"
    assert process.returncode != 0
    assert scene.stored() == []
    # the run stopped after three items, each a mistake in the workflow (not a failure of the site, retried)
    assert Counter(scene.statuses().values()) == {ItemStatus.FAILED_WORKFLOW: 3}, output[-3000:]


@one_face_per_framework
def test_a_wrong_password_is_tried_once_and_stops_the_run(site: Site, tmp_path: Path) -> None:
    scene = Scene(site, tmp_path, "MDP", 5)
    before = site.login_attempts()
    result = scene.robo(password="not-the-password")
    assert result.returncode != 0
    assert scene.stored() == []
    assert site.login_attempts() - before == 1, result.stderr[-3000:]
    assert "login" in result.stderr.lower() or "connexion" in result.stderr.lower(), result.stderr[-3000:]
