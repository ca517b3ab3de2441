"""Paths from data stay in the run's folders: hostile file names from a CSV cell against every file-writing action.

Each run reads a CSV whose cells are hostile paths (`..`, absolute, `~`, NUL, control characters, overlong names,
Windows forms, a symbolic link that leads out, the run's own audit log) and hands each cell to one action through a
template. Nothing may change outside the allowed folders (a sentinel `outside/` folder, a fake home, the test's
whole temporary folder), nothing outside may be read into the run or sent, and each cell is refused as a business
error that names it. Values that only look hostile (`%2e%2e%2f`, which nothing decodes) stay inside and are used.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
import pytest
from openpyxl import Workbook
from pypdf import PdfWriter

from robots import robot_class, robot_names
from robots.kit import RobotContext, printable
from runner.language.templating import folder_slug
from runner.run import RunOptions, run_workflow
from tests.e2e.conftest import Bot
from tests.mock_intranet.fixtures import SmtpEndpoint
from tests.running import EventRecorder

SECRET_CONTENT = "TOP-SECRET robo.env: ROBO_SMTP_PASSWORD=hunter2"
WORKFLOW_NAME = "Chemins venus des données"
RUN_ID = "20260101-000000-paths1"

# `{name}` is the file the action would write (or read); `{outside}` the sentinel folder (absolute); `{project}`
# the workflow's folder; `{run}` the run's own folder, relative to the workflow's.
HOSTILE = [
    "../outside/{name}",
    "../../{name}",
    "sub/../../outside/{name}",
    "./../outside/{name}",
    "sub/../../../{name}",
    "..",
    "../",
    "../outside",
    "{outside}/{name}",
    "{outside}/../outside/{name}",
    "//{outside}/{name}",
    "{outside}",
    "{project}/../outside/{name}",
    "~/{name}",
    "~",
    "~nosuchuser/{name}",
    "a\x00{name}",
    "{name}\x00/../../outside/x",
    "a\n{name}",
    "a\r{name}",
    "a\t{name}",
    "\x1b[2K{name}",
    "a\x7f{name}",
    "a\x85{name}",
    "a" * 256 + "{name}",
    ("d" * 200 + "/") * 21 + "{name}",
    "..\\outside\\{name}",
    "..\\..\\{name}",
    "sub\\..\\..\\{name}",
    "C:\\Windows\\{name}",
    "C:{name}",
    "c:/{name}",
    "link/{name}",
    "link",
    "link/../outside/{name}",
    "deep/link/{name}",
    "{run}/audit.jsonl",
]
# The machine's own files, for the actions that only read what they are given (the documented service reads
# its credentials from /etc/robo/robo.env).
SYSTEM_FILES = ["/etc/robo/robo.env", "/etc/passwd"]
PASSWD_LINE = Path("/etc/passwd").read_text(encoding="utf-8").splitlines()[0]
# Look hostile, are not: nothing decodes them, they stay in the workflow's folder.
HARMLESS = [
    "%2e%2e%2f{name}",
    "..%2f..%2f{name}",
    "..{name}",
    "sub/../b-{name}",
    "{project}/c-{name}",
]


@dataclass(frozen=True)
class Case:
    """One action, with the parameter that takes the value from data (`V`)."""

    id: str
    step: str
    name: str
    reads: bool = False  # the value names a file to read and send or move (the outside secret), not to write
    only_reads: bool = False  # and leaves it where it is: safe to aim at the machine's own files
    harmless: bool = True  # whether the harmless values can be run for real (the action succeeds on them)
    needs: str = ""  # a fixture


V = '"{{ row.value }}"'
CASES = [
    Case("files.copy-target", f"files.copy: {{source: data/src.txt, target: {V}}}", "planted.txt"),
    Case(
        "files.move-target",
        f"files.move: {{source: data/src.txt, target: {V}}}",
        "planted.txt",
        harmless=False,
    ),
    Case("files.make_folder", f"files.make_folder: {{path: {V}}}", "planted"),
    Case(
        "files.file_by_rules-rules.to",
        f"files.file_by_rules: {{folder: inbox, rules: [{{pattern: '*', to: {V}}}], mode: copy}}",
        "planted",
    ),
    Case(
        "files.file_by_rules-default",
        f"files.file_by_rules: {{folder: inbox, rules: [{{pattern: '*.pdf', to: pdf}}], default: {V}, mode: copy}}",
        "planted",
    ),
    Case("files.zip-target", f"files.zip: {{sources: data/src.txt, target: {V}}}", "planted.zip"),
    Case("files.unzip-folder", f"files.unzip: {{archive: data/archive.zip, folder: {V}}}", "planted"),
    Case("data.write_csv", f"data.write_csv: {{records: [{{a: 1}}], path: {V}}}", "planted.csv"),
    Case("data.write_json", f"data.write_json: {{data: {{a: 1}}, path: {V}}}", "planted.json"),
    Case("excel.create_workbook", f"excel.create_workbook: {{path: {V}}}", "planted.xlsx"),
    Case(
        "excel.write_rows-output",
        f"excel.write_rows: {{path: data/book.xlsx, records: [{{a: 1}}], output: {V}}}",
        "planted.xlsx",
    ),
    Case(
        "excel.write_cell-output",
        f"excel.write_cell: {{path: data/book.xlsx, cell: B2, value: 7, output: {V}}}",
        "planted.xlsx",
    ),
    Case(
        "word.render_template",
        f"word.render_template: {{template: data/letter.docx, output: {V}, values: {{nom: X}}}}",
        "planted.docx",
    ),
    Case(
        "word.append_paragraph-output",
        f"word.append_paragraph: {{path: data/letter.docx, text: Bonjour, output: {V}}}",
        "planted.docx",
    ),
    Case(
        "word.to_pdf-output",
        f"word.to_pdf: {{path: data/letter.docx, output: {V}}}",
        "planted.pdf",
        harmless=False,
    ),
    Case("pdf.merge", f"pdf.merge: {{paths: [data/src.pdf], output: {V}}}", "planted.pdf"),
    Case("pdf.split", f"pdf.split: {{path: data/src.pdf, output_dir: {V}}}", "planted"),
    Case(
        "http.download",
        f'http.download: {{url: "{{{{ inputs.intranet }}}}/connexion", to: {V}}}',
        "planted.html",
        harmless=False,
        needs="intranet_url",
    ),
    Case(  # refused before it connects: no server is needed (nothing listens on port 9)
        "email.read-save_attachments_to",
        "email.read: {host: 127.0.0.1, port: 9, security: none, user: u, password: p, timeout: 2,"
        f" save_attachments_to: {V}}}",
        "planted",
        harmless=False,
    ),
    # Refused before the browser starts: no page is needed.
    Case(
        "browser.download-to", f"browser.download: {{label: Export, to: {V}}}", "planted.pdf", harmless=False
    ),
    Case("browser.save_session", f"browser.save_session: {{path: {V}}}", "planted.json", harmless=False),
    # Reading a file outside and moving, copying or sending it on.
    Case(
        "files.copy-source",
        f'files.copy: {{source: {V}, target: "{{{{ run.artifacts }}}}/copied-{{{{ row.n }}}}.txt"}}',
        "secret.txt",
        reads=True,
        only_reads=True,
    ),
    Case(
        "files.move-source",
        f'files.move: {{source: {V}, target: "{{{{ run.artifacts }}}}/moved-{{{{ row.n }}}}.txt"}}',
        "secret.txt",
        reads=True,
    ),
    Case(
        "files.rename-source",
        f'files.rename: {{source: {V}, new_name: "r-{{{{ row.n }}}}.txt"}}',
        "secret.txt",
        reads=True,
    ),
    Case("files.delete", f"files.delete: {{path: {V}}}", "secret.txt", reads=True),
    Case(
        "files.zip-sources",
        f'files.zip: {{sources: {V}, target: "{{{{ run.artifacts }}}}/z-{{{{ row.n }}}}.zip"}}',
        "secret.txt",
        reads=True,
        only_reads=True,
    ),
    Case(
        "documents.read_text",
        f"documents.read_text: {{path: {V}}}",
        "secret.txt",
        reads=True,
        only_reads=True,
    ),
    Case(
        "browser.upload-files",
        f"browser.upload: {{label: Document, files: {V}}}",
        "secret.txt",
        reads=True,
        only_reads=True,
    ),
    Case(
        "email.send-attachments",
        "email.send: {host: '{{ inputs.smtp_host }}', port: '{{ inputs.smtp_port }}', security: none,"
        " sender: robot@mairie.test, to: agent@mairie.test, subject: Pièce, text: Ci-joint,"
        f" attachments: [{V}]}}",
        "secret.txt",
        reads=True,
        only_reads=True,
        needs="smtp_endpoint",
    ),
]


def workflow_text(case: Case, allow_outside: bool = False) -> str:
    inputs = "  intranet: {type: string, default: ''}\n"
    inputs += "  smtp_host: {type: string, default: ''}\n  smtp_port: {type: string, default: '25'}\n"
    outside = "\n        allow_outside: true" if allow_outside else ""
    return f"""\
name: {WORKFLOW_NAME}
inputs:
{inputs}steps:
  - data.read_csv: {{path: data/values.csv}}
    save: rows
  - for_each: "{{{{ rows }}}}"
    as: row
    key: "{{{{ row.n }}}}"
    steps:
      - name: Écrire le fichier
        {case.step}{outside}
"""


@dataclass
class Project:
    root: Path  # the test's whole temporary folder
    folder: Path  # the workflow's folder
    outside: Path
    home: Path
    runs: int = 0

    @property
    def run_folder(self) -> str:
        return f"logs/{folder_slug(WORKFLOW_NAME)}/{RUN_ID}"

    def values(self, templates: list[str], name: str) -> list[str]:
        return [
            t.format(name=name, outside=self.outside, project=self.folder, run=self.run_folder)
            for t in templates
        ]

    def write_values(self, values: list[str]) -> None:
        with (self.folder / "data" / "values.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(["n", "value"])
            writer.writerows([n, value] for n, value in enumerate(values, start=1))

    def run(self, case: Case, request: pytest.FixtureRequest, allow_outside: bool = False) -> EventRecorder:
        path = self.folder / "workflow.yaml"
        path.write_text(workflow_text(case, allow_outside), encoding="utf-8")
        inputs: dict[str, Any] = {}
        if case.needs == "intranet_url":
            inputs["intranet"] = request.getfixturevalue("intranet_url")
        if case.needs == "smtp_endpoint":
            smtp: SmtpEndpoint = request.getfixturevalue("smtp_endpoint")
            inputs.update(smtp_host=smtp.host, smtp_port=str(smtp.port))
        recorder = EventRecorder()
        self.runs += 1
        outcome = run_workflow(
            path,
            RunOptions(
                inputs=inputs,
                logs_dir=self.folder / "logs",
                environ={},
                extra_sinks=[recorder],
                run_id=RUN_ID if self.runs == 1 else f"{RUN_ID}-{self.runs}",
            ),
        )
        assert outcome.status != "invalid", outcome.diagnostics
        return recorder

    def snapshot(self) -> dict[str, tuple[str, int, str]]:
        """Everything under the test's folder but the run's own records: kind, mode and content digest."""
        seen: dict[str, tuple[str, int, str]] = {}
        logs = self.folder / "logs"
        for top, folders, files in os.walk(self.root):
            here = Path(top)
            folders[:] = [f for f in folders if here / f != logs]
            for name in folders + files:
                path = here / name
                info = path.lstat()
                if path.is_symlink():
                    seen[str(path)] = ("link", info.st_mode, os.readlink(path))
                elif path.is_dir():
                    seen[str(path)] = ("dir", info.st_mode, "")
                else:
                    seen[str(path)] = ("file", info.st_mode, hashlib.sha256(path.read_bytes()).hexdigest())
        return seen


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """`zone/project/` holds the workflow and its data; `outside/` a secret; `home/` is `~`."""
    folder = tmp_path / "zone" / "project"
    data = folder / "data"
    data.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET_CONTENT, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (folder / "link").symlink_to(outside, target_is_directory=True)
    (folder / "deep").mkdir()
    (folder / "deep" / "link").symlink_to(outside, target_is_directory=True)
    (folder / "sub").mkdir()
    (data / "src.txt").write_text("source", encoding="utf-8")
    (folder / "inbox").mkdir()
    (folder / "inbox" / "doc.txt").write_text("to file", encoding="utf-8")
    with zipfile.ZipFile(data / "archive.zip", "w") as bundle:
        bundle.writestr("a.txt", "from the archive")
    workbook = Workbook()
    workbook.active.append(["a", "b"])
    workbook.save(data / "book.xlsx")
    letter = docx.Document()
    letter.add_paragraph("Madame {{ nom }},")
    letter.save(str(data / "letter.docx"))
    pdf = PdfWriter()
    pdf.add_blank_page(width=200, height=200)
    with (data / "src.pdf").open("wb") as handle:
        pdf.write(handle)
    return Project(tmp_path, folder, outside, home)


def action_results(recorder: EventRecorder) -> dict[str, Any]:
    """The action step's outcome per item key."""
    return {
        event.item: event
        for event in recorder.of("step_finished")
        if event.item is not None and event.name == "Écrire le fichier"
    }


def files_holding(folder: Path, text: str) -> Iterator[Path]:
    needle = text.encode()
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            content = path.read_bytes()
            if needle in content:
                yield path
            elif path.suffix == ".zip":
                with zipfile.ZipFile(path) as bundle:
                    if any(needle in bundle.read(member) for member in bundle.namelist()):
                        yield path


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_paths_from_a_csv_are_refused_and_nothing_outside_changes(
    case: Case, project: Project, request: pytest.FixtureRequest
) -> None:
    hostile = project.values(HOSTILE, case.name)
    if case.only_reads:
        hostile += SYSTEM_FILES
    harmless = project.values(HARMLESS, case.name) if case.harmless and not case.reads else []
    project.write_values(hostile + harmless)
    before = project.snapshot()

    recorder = project.run(case, request)
    results = action_results(recorder)
    items = {event.key: event for event in recorder.of("item_finished")}

    allowed = {str(project.folder)}  # the workflow's own folder may gain the harmless values' files
    after = project.snapshot()
    changed = {path for path in set(before) | set(after) if before.get(path) != after.get(path)}
    outside_changes = sorted(p for p in changed if not any(p.startswith(a + os.sep) for a in allowed))
    assert outside_changes == []
    assert (project.outside / "secret.txt").read_text(encoding="utf-8") == SECRET_CONTENT
    assert sorted(p.name for p in project.home.iterdir()) == []
    for index, value in enumerate(hostile, start=1):
        finished = results[str(index)]
        assert finished.status == "failed", f"value {value!r} was not refused"
        assert finished.error["kind"] == "business", (value, finished.error)
        message = finished.error["message"]
        assert printable(value, lines=False)[:60] in message, (value, message)
        assert message.startswith(case.id.split("-")[0] + ": the path in '"), message
        assert "step 'Écrire le fichier' failed" in items[str(index)].error
        assert "allow_outside: true" in finished.error["hint"]
    for index, value in enumerate(harmless, start=len(hostile) + 1):
        finished = results[str(index)]
        assert finished.status == "succeeded", (value, finished.error)
    if case.reads:
        # nothing read outside reached the run's folders, or anyone by mail
        assert list(files_holding(project.folder, SECRET_CONTENT)) == []
        assert list(files_holding(project.folder, PASSWD_LINE)) == []
        if case.needs == "smtp_endpoint":
            smtp: SmtpEndpoint = request.getfixturevalue("smtp_endpoint")
            assert smtp.store.count() == 0
    else:
        written = [path for path in changed if Path(path).name.endswith(case.name)]
        assert len(written) >= len(harmless)


def test_the_runs_records_are_out_of_reach_but_its_artifacts_are_not(
    project: Project, request: pytest.FixtureRequest
) -> None:
    case = CASES[5]  # data.write_csv
    project.write_values(
        [
            f"{project.run_folder}/audit.jsonl",
            "logs/robo.db",
            f"logs/{folder_slug(WORKFLOW_NAME)}/an-earlier-run/audit.jsonl",
            f"{project.run_folder}/artifacts/ok.csv",
        ]
    )

    results = action_results(project.run(case, request))

    for key in ("1", "2", "3"):
        assert results[key].status == "failed", results[key]
        assert "it reaches the records of the runs" in results[key].error["message"]
    assert results["4"].status == "succeeded"
    assert not (project.folder / "logs" / folder_slug(WORKFLOW_NAME) / "an-earlier-run").exists()
    audit = project.folder / project.run_folder / "audit.jsonl"
    records = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    assert "run_started" in json.dumps(records[0])  # still the run's log, not the CSV written over it
    assert (project.folder / project.run_folder / "artifacts" / "ok.csv").is_file()


class TestAllowOutside:
    def test_a_step_that_allows_it_writes_where_the_data_says(
        self, project: Project, request: pytest.FixtureRequest
    ) -> None:
        case = CASES[0]  # files.copy, target from data
        project.write_values([f"{project.outside}/planted.txt", "../../outside/planted-2.txt"])

        results = action_results(project.run(case, request, allow_outside=True))

        assert [results[key].status for key in ("1", "2")] == ["succeeded", "succeeded"]
        assert (project.outside / "planted.txt").read_text(encoding="utf-8") == "source"
        assert (project.outside / "planted-2.txt").read_text(encoding="utf-8") == "source"

    def test_an_attachment_outside_is_sent_when_the_step_allows_it(
        self, project: Project, request: pytest.FixtureRequest, smtp_endpoint: SmtpEndpoint
    ) -> None:
        case = next(c for c in CASES if c.id == "email.send-attachments")
        project.write_values([str(project.outside / "secret.txt")])

        results = action_results(project.run(case, request, allow_outside=True))

        assert results["1"].status == "succeeded", results["1"].error
        (mail,) = smtp_endpoint.store.wait_for(1)
        assert [a.content for a in mail.attachments] == [SECRET_CONTENT.encode()]

    def test_a_path_the_author_wrote_is_used_as_written(
        self, project: Project, request: pytest.FixtureRequest
    ) -> None:
        target = project.outside / "author.csv"
        author = Case("data.write_csv", f"data.write_csv: {{records: [{{a: 1}}], path: '{target}'}}", "")
        project.write_values([str(target)])

        by_author = action_results(project.run(author, request))
        target.unlink()
        from_data = action_results(project.run(CASES[5], request))  # data.write_csv, path from the CSV

        assert by_author["1"].status == "succeeded", by_author["1"].error
        assert from_data["1"].status == "failed" and not target.exists()


@pytest.mark.parametrize(
    "template",
    HOSTILE,
    ids=[printable(t, lines=False)[:40] for t in HOSTILE],
)
def test_each_hostile_value_is_refused_by_the_robot_context(template: str, project: Project) -> None:
    """The rule itself, value by value (the runs above feed the same values through every action)."""
    value = project.values([template], "planted.txt")[0]
    context = RobotContext("r", "w", project.folder, project.folder / project.run_folder / "artifacts")

    reason = context.path_outside(value)

    assert reason is not None and reason.startswith(("it ", "a ")), reason


def test_a_file_given_as_input_is_allowed_but_not_its_neighbours(project: Project) -> None:
    given = project.outside / "secret.txt"
    context = RobotContext("r", "w", project.folder, project.folder / "artifacts", input_paths=(given,))

    assert context.path_outside(str(given)) is None
    assert context.path_outside(str(project.outside / "other.txt")) is not None


def test_every_action_that_writes_a_path_declares_it_confined() -> None:
    """A parameter named like a path in an action with side effects is a `ConfinedPath`, or listed here."""
    path_like = {
        "path",
        "paths",
        "output",
        "output_dir",
        "target",
        "to",
        "folder",
        "source",
        "sources",
        "trash",
    }
    path_like |= {"attachments", "save_attachments_to", "files", "default"}
    unconfined = {
        "files.file_by_rules.files",  # paths or file records: their folders are checked by `folder`
        "files.unzip.archive",  # only read, into the confined `folder`
        "pdf.merge.paths",  # only read, into the confined `output`
        "pdf.split.path",
        "pdf.fill_form.path",
        "email.read.folder",  # a mailbox, not a file
        "email.move.folder",  # mailbox folders, not files
        "email.move.to",
        "email.send.to",  # an address
        "desktop.launch.folder",  # where the workflow's own command starts; nothing is written there by Rob'O
    }
    missing = []
    for robot in robot_names():
        for spec in robot_class(robot).action_specs().values():
            if not spec.side_effects:
                continue
            for name in spec.parameters:
                qualified = f"{spec.qualified_name}.{name}"
                if name in path_like and name not in spec.confined_parameters and qualified not in unconfined:
                    missing.append(qualified)
    assert missing == []


class TestValidate:
    def robo_validate(self, folder: Path, text: str) -> subprocess.CompletedProcess[str]:
        (folder / "w.yaml").write_text(text, encoding="utf-8")
        return subprocess.run(
            [sys.executable, "-m", "runner.cli", "validate", "w.yaml"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            check=False,
        )

    def test_allow_outside_is_a_step_key(self, tmp_path: Path) -> None:
        text = (
            "name: Export\nsteps:\n  - data.write_csv: {records: [], path: '{{ inputs.x }}'}\n"
            "    allow_outside: true\ninputs:\n  x: {type: string, default: a.csv}\n"
        )
        result = self.robo_validate(tmp_path, text)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_allow_outside_takes_true_or_false(self, tmp_path: Path) -> None:
        text = "name: Export\nsteps:\n  - data.write_csv: {records: [], path: a.csv}\n    allow_outside: partout\n"
        result = self.robo_validate(tmp_path, text)
        assert result.returncode == 1
        assert "w.yaml:4:20: error[wrong-type]" in result.stderr, result.stderr


@pytest.mark.slow
class TestFormFileFields:
    """`browser.fill_form` finds its file fields on the page: the robot itself checks a path from data there."""

    def test_a_file_field_filled_from_data_may_not_upload_a_file_outside(
        self, bot: Bot, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        outside = tmp_path_factory.mktemp("outside")
        (outside / "secret.txt").write_text(SECRET_CONTENT, encoding="utf-8")
        (tmp_path / "link").symlink_to(outside, target_is_directory=True)
        (tmp_path / "piece.txt").write_text("pièce", encoding="utf-8")
        values = [
            str(outside / "secret.txt"),
            f"{os.path.relpath(outside, tmp_path)}/secret.txt",
            "link/secret.txt",
        ]
        rows = [{"n": str(n), "value": value} for n, value in enumerate([*values, "piece.txt"], start=1)]
        (tmp_path / "values.json").write_text(json.dumps(rows), encoding="utf-8")

        outcome, recorder = bot.run(
            """\
name: Pièce jointe venue des données
inputs:
  intranet: {type: string}
secrets: [identifiant, mot_de_passe]
steps:
  - browser.open: {url: "{{ inputs.intranet }}/connexion"}
  - browser.fill: {label: Identifiant, value: "{{ secrets.identifiant }}"}
  - browser.fill: {label: Mot de passe, value: "{{ secrets.mot_de_passe }}"}
  - browser.click: {role: "button:Se connecter"}
  - data.read_json: {path: values.json}
    save: rows
  - for_each: "{{ rows }}"
    as: row
    key: "{{ row.n }}"
    steps:
      - browser.goto: {url: "{{ inputs.intranet }}/dossiers/nouveau"}
      - name: Écrire le fichier
        browser.fill_form:
          fields: {"Nom du demandeur": Dupont, "Pièce jointe": "{{ row.value }}"}
"""
        )

        results = action_results(recorder)
        assert outcome.status != "invalid", outcome.diagnostics
        for index, value in enumerate(values, start=1):
            error = results[str(index)].error
            assert results[str(index)].status == "failed" and error["kind"] == "business", (value, error)
            assert "browser.fill_form: the path in 'fields.Pièce jointe' is refused" in error["message"]
            assert value in error["message"]
        assert results["4"].status == "succeeded", results["4"].error
