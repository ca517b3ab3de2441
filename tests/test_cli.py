"""`robo` end to end, in a subprocess, as a user or a cron job would run it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.keyring_backend import BACKEND as KEYRING_BACKEND
from tests.keyring_backend import FILE_VARIABLE as KEYRING_FILE_VARIABLE
from tests.running import robo_process

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = """\
name: Relevé des dossiers
description: Lit un CSV, garde les dossiers urgents et écrit un relevé.
inputs:
  fichier: {type: file, description: Le CSV des dossiers}
  priorite: {type: string, default: Urgente}
steps:
  - name: Lire les dossiers
    data.read_csv: {path: "{{ inputs.fichier }}"}
    save: dossiers
  - name: Garder la priorité demandée
    data.filter: {records: "{{ dossiers }}", where: {priorite: "{{ inputs.priorite }}"}}
    save: urgents
  - for_each: "{{ urgents }}"
    as: dossier
    key: dossier.reference
    steps:
      - log: "{{ dossier.reference }} — {{ dossier.nom | upper }}"
  - name: Écrire le relevé
    data.write_csv: {records: "{{ urgents }}", path: "{{ run.artifacts }}/releve.csv"}
    save: chemin
"""


def robo(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return robo_process(*args, cwd=cwd, environ=env)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "releve.yaml").write_text(WORKFLOW, encoding="utf-8")
    (tmp_path / "dossiers.csv").write_text(
        "reference;nom;priorite\nD1;Martin;Urgente\nD2;Durand;Normale\nD3;Lefèvre;Urgente\n", encoding="utf-8"
    )
    return tmp_path


class TestRun:
    def test_a_run_succeeds_and_leaves_its_records(self, project: Path) -> None:
        result = robo("run", "releve.yaml", "--input", "fichier=dossiers.csv", cwd=project)
        assert result.returncode == 0, result.stderr
        assert "D3 — LEFÈVRE" in result.stderr
        assert "audit log:" in result.stderr
        run_dirs = list((project / "logs" / "releve-des-dossiers").iterdir())
        assert len(run_dirs) == 1
        releve = (run_dirs[0] / "artifacts" / "releve.csv").read_text(encoding="utf-8-sig")
        assert releve.splitlines() == ["reference;nom;priorite", "D1;Martin;Urgente", "D3;Lefèvre;Urgente"]
        assert (project / "logs" / "robo.db").exists()

    def test_json_output(self, project: Path) -> None:
        result = robo(
            "run",
            "releve.yaml",
            "-i",
            "fichier=dossiers.csv",
            "-i",
            "priorite=Normale",
            "--format",
            "json",
            cwd=project,
        )
        payload = json.loads(result.stdout)
        assert payload["status"] == "succeeded"
        assert payload["counts"]["items_done"] == 1

    def test_the_last_line_links_to_the_run_s_page_in_the_console(self, project: Path) -> None:
        environ = {"ROBO_DASHBOARD_URL": "https://robo.mairie.example/console/"}
        result = robo("run", "releve.yaml", "-i", "fichier=dossiers.csv", cwd=project, env=environ)
        assert result.returncode == 0, result.stderr
        (run_dir,) = (project / "logs" / "releve-des-dossiers").iterdir()
        last = result.stderr.rstrip("\n").splitlines()[-1]
        assert last == f"in the console: https://robo.mairie.example/console/runs/{run_dir.name}"
        as_json = robo(
            "run", "releve.yaml", "-i", "fichier=dossiers.csv", "--format", "json", cwd=project, env=environ
        )
        payload = json.loads(as_json.stdout)
        assert payload["console"] == f"https://robo.mairie.example/console/runs/{payload['run_id']}"

    def test_a_console_address_that_cannot_make_a_link_is_said_and_the_run_goes_on(
        self, project: Path
    ) -> None:
        environ = {"ROBO_DASHBOARD_URL": "robo.mairie.example"}
        result = robo("run", "releve.yaml", "-i", "fichier=dossiers.csv", cwd=project, env=environ)
        assert result.returncode == 0, result.stderr
        assert (
            "warning: ROBO_DASHBOARD_URL is not the address of the console: 'robo.mairie.example'"
            in result.stderr
        )
        assert "  hint: give its address as people open it" in result.stderr
        assert "in the console:" not in result.stderr
        assert "audit log:" in result.stderr

    def test_a_missing_input_is_a_clear_error(self, project: Path) -> None:
        result = robo("run", "releve.yaml", cwd=project)
        assert result.returncode == 1
        assert "missing required input: fichier" in result.stderr
        assert "--input fichier=" in result.stderr
        assert "Traceback" not in result.stderr

    def test_a_missing_file_is_a_clear_error(self, project: Path) -> None:
        result = robo("run", "releve.yaml", "-i", "fichier=absent.csv", cwd=project)
        assert result.returncode == 1
        assert "no such file" in result.stderr and "absent.csv" in result.stderr
        assert "Traceback" not in result.stderr

    def test_a_failing_step_names_itself_and_its_line(self, project: Path) -> None:
        (project / "casse.yaml").write_text(
            "name: Cassé\nsteps:\n  - log: début\n  - name: Lire un fichier absent\n    data.read_csv: {path: nulle-part.csv}\n",
            encoding="utf-8",
        )
        result = robo("run", "casse.yaml", cwd=project)
        assert result.returncode == 1
        assert (
            "casse.yaml:5:5: error[configuration-error]: step 'Lire un fichier absent' failed"
            in result.stderr
        )
        assert "nulle-part.csv" in result.stderr
        assert "Traceback" not in result.stderr

    def test_dry_run_writes_nothing(self, project: Path) -> None:
        result = robo("run", "releve.yaml", "-i", "fichier=dossiers.csv", "--dry-run", cwd=project)
        assert result.returncode == 0, result.stderr
        assert not list(project.glob("logs/*/*/artifacts/releve.csv"))

    def test_bad_input_syntax(self, project: Path) -> None:
        result = robo("run", "releve.yaml", "-i", "fichier", cwd=project)
        assert result.returncode == 2
        assert "not of the form name=value" in result.stderr


class TestValidate:
    def test_a_valid_workflow(self, project: Path) -> None:
        result = robo("validate", "releve.yaml", cwd=project)
        assert result.returncode == 0
        assert "releve.yaml: ok" in result.stderr

    def test_errors_are_listed_with_positions(self, project: Path) -> None:
        (project / "faux.yaml").write_text(
            "name: Faux\nsteps:\n  - data.read_csv: {pth: a.csv}\n  - lgo: x\n", encoding="utf-8"
        )
        result = robo("validate", "faux.yaml", "releve.yaml", cwd=project)
        assert result.returncode == 1
        assert (
            "faux.yaml:3:21: error[unknown-parameter]: data.read_csv has no parameter 'pth'" in result.stderr
        )
        assert "hint: did you mean 'path'?" in result.stderr
        assert "faux.yaml:4:5: error[missing-action]" in result.stderr
        assert "releve.yaml: ok" in result.stderr

    def test_json_format(self, project: Path) -> None:
        (project / "faux.yaml").write_text("name: Faux\nsteps:\n  - lgo: x\n", encoding="utf-8")
        result = robo("validate", "faux.yaml", "--format", "json", cwd=project)
        [problem] = json.loads(result.stdout)
        assert (problem["line"], problem["col"], problem["code"]) == (3, 5, "missing-action")


class TestRuns:
    def test_list_and_show(self, project: Path) -> None:
        robo("run", "releve.yaml", "-i", "fichier=dossiers.csv", cwd=project)
        listing = robo("runs", "list", cwd=project)
        assert listing.returncode == 0
        assert "Relevé des dossiers" in listing.stdout and "succeeded" in listing.stdout
        runs = json.loads(robo("runs", "list", "--format", "json", cwd=project).stdout)
        run_id = runs[0]["id"]
        shown = robo("runs", "show", run_id, cwd=project)
        assert shown.returncode == 0
        assert "Lire les dossiers" in shown.stdout and "D3" in shown.stdout
        none = robo("runs", "list", "--status", "failed", cwd=project).stderr.splitlines()
        assert none == [f"runs recorded in sqlite:///{project / 'logs' / 'robo.db'}", "no runs found"]
        verify = robo("audit", "verify", run_id, cwd=project)
        assert verify.returncode == 0 and "intact" in verify.stdout

    def test_every_run_has_a_report_that_can_be_written_again(self, project: Path) -> None:
        result = robo("run", "releve.yaml", "-i", "fichier=dossiers.csv", cwd=project)
        [line] = [line for line in result.stderr.splitlines() if line.startswith("report: ")]
        first = Path(line.removeprefix("report: "))
        assert first.name == "report.html" and "All 2 items done." in first.read_text(encoding="utf-8")
        run_id = json.loads(robo("runs", "list", "--format", "json", cwd=project).stdout)[0]["id"]
        again = robo("runs", "report", run_id, "--output", "copie.html", cwd=project)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == "copie.html"
        assert "Relevé des dossiers" in (project / "copie.html").read_text(encoding="utf-8")
        unknown = robo("runs", "report", "nope", cwd=project)
        assert unknown.returncode == 1 and "no run 'nope'" in unknown.stderr

    def test_show_a_run_where_none_was_recorded(self, project: Path) -> None:
        result = robo("runs", "show", "nope", cwd=project)
        assert result.returncode == 1
        assert "no run was recorded in logs: it has no run store (robo.db)" in result.stderr
        assert not (project / "logs").exists()  # reading makes no store


class TestReference:
    def test_actions(self, project: Path) -> None:
        result = robo("actions", "data", cwd=project)
        assert result.returncode == 0
        assert "data.read_csv" in result.stdout and "delimiter" in result.stdout
        unknown = robo("actions", "dta", cwd=project)
        assert unknown.returncode == 1 and "did you mean 'data'" in unknown.stderr

    def test_help_starts_without_loading_heavy_modules(self, project: Path) -> None:
        code = (
            "import sys; from runner.cli import app; import robots.data, robots.http; "
            "heavy = [m for m in ('playwright', 'openpyxl', 'pyautogui', 'docx', 'sqlalchemy', 'httpx', 'runner.engine')"
            " if m in sys.modules]; "
            "print(heavy)"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parents[1],
        )
        assert result.stdout.strip() == "[]"


SECRETS_WORKFLOW = """\
name: Secrets
secrets: [identifiant, mot_de_passe]
steps:
  - log: "identifiant de {{ secrets.identifiant | length }} caractères, mot de passe de {{ secrets.mot_de_passe | length }}"
  - log: "en clair : {{ secrets.identifiant }} / {{ secrets.mot_de_passe }}"
"""


def without_secrets(env: dict[str, str]) -> dict[str, str]:
    """The environment less any secret a developer's shell may hold, so only the test's sources count."""
    names = {"IDENTIFIANT", "MOT_DE_PASSE"}
    return {k: v for k, v in env.items() if k.upper() not in names and not k.startswith("ROBO_SECRET_")}


def robo_alone(
    *args: str, cwd: Path, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`robo` without a terminal (a session of its own: a password prompt reads stdin) nor inherited secrets."""
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**without_secrets(dict(os.environ)), "PYTHONPATH": str(ROOT), **env},
        start_new_session=True,
        check=False,
    )


class TestSecrets:
    def test_a_secret_set_in_the_keyring_and_one_in_a_dotenv_file_are_used_and_masked(
        self, tmp_path: Path
    ) -> None:
        keyring_file = tmp_path / "keyring.json"
        keyring_env = {"PYTHON_KEYRING_BACKEND": KEYRING_BACKEND, KEYRING_FILE_VARIABLE: str(keyring_file)}
        stored = robo_alone(
            "secrets", "set", "identifiant", cwd=tmp_path, env=keyring_env, stdin="agent.007\nagent.007\n"
        )
        assert stored.returncode == 0, stored.stderr
        assert "secret 'identifiant' stored in the system keyring" in stored.stderr
        assert json.loads(keyring_file.read_text(encoding="utf-8")) == {"robo": {"identifiant": "agent.007"}}
        folder = tmp_path / "flux"
        folder.mkdir()
        (folder / "secrets.yaml").write_text(SECRETS_WORKFLOW, encoding="utf-8")
        (folder / ".env").write_text("mot_de_passe='S3cret#42'\n", encoding="utf-8")
        elsewhere = tmp_path / "ailleurs"
        elsewhere.mkdir()

        result = robo_alone("run", str(folder / "secrets.yaml"), cwd=elsewhere, env=keyring_env)
        assert result.returncode == 0, result.stderr
        assert "identifiant de 9 caractères, mot de passe de 9" in result.stderr
        assert "en clair : *** / ***" in result.stderr
        audit = next(folder.glob("logs/secrets/*/audit.jsonl")).read_text(encoding="utf-8")  # by the workflow
        assert "en clair : *** / ***" in audit and "agent.007" not in audit and "S3cret#42" not in audit

    def test_a_dotenv_file_in_the_current_folder_counts_and_the_environment_comes_first(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "secrets.yaml").write_text(SECRETS_WORKFLOW, encoding="utf-8")
        here = tmp_path / "ici"
        here.mkdir()
        (here / ".env").write_text("identifiant=depuis-env-file\nmot_de_passe=aussi\n", encoding="utf-8")
        no_keyring = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        result = robo_alone(
            "run",
            str(tmp_path / "secrets.yaml"),
            cwd=here,
            env={**no_keyring, "ROBO_SECRET_IDENTIFIANT": "abc"},
        )
        assert result.returncode == 0, result.stderr
        assert "identifiant de 3 caractères, mot de passe de 5" in result.stderr

    def test_a_missing_secret_names_every_source(self, tmp_path: Path) -> None:
        (tmp_path / "secrets.yaml").write_text(SECRETS_WORKFLOW, encoding="utf-8")
        result = robo_alone(
            "run",
            "secrets.yaml",
            cwd=tmp_path,
            env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
        )
        assert result.returncode == 1
        assert "missing secrets: identifiant, mot_de_passe" in result.stderr
        assert "robo secrets set NAME" in result.stderr and "Traceback" not in result.stderr

    def test_without_a_keyring_secrets_set_says_what_to_do_instead(self, tmp_path: Path) -> None:
        result = robo_alone(
            "secrets",
            "set",
            "identifiant",
            cwd=tmp_path,
            env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
            stdin="x1y2z3\nx1y2z3\n",
        )
        assert result.returncode == 1
        assert "cannot store the secret 'identifiant' in the system keyring" in result.stderr
        assert "ROBO_SECRET_<NAME>" in result.stderr and "Traceback" not in result.stderr


RETRY_WORKFLOW = """\
name: Relance
inputs:
  fichier: {type: file}
steps:
  - data.read_csv: {path: "{{ inputs.fichier }}"}
    save: dossiers
  - for_each: "{{ dossiers }}"
    as: dossier
    key: dossier.reference
    steps:
      - fail: "le nom du dossier {{ dossier.reference }} manque"
        when: not dossier.nom
      - log: "saisi {{ dossier.reference }} ({{ dossier.nom }})"
"""


class TestRunsRetry:
    def test_retry_does_the_failed_items_once_the_data_is_corrected_and_keeps_the_done_ones(
        self, tmp_path: Path, store_url: str
    ) -> None:
        (tmp_path / "relance.yaml").write_text(RETRY_WORKFLOW, encoding="utf-8")
        data = tmp_path / "dossiers.csv"
        data.write_text("reference;nom\nD1;Martin\nD2;\nD3;Lefèvre\n", encoding="utf-8")
        where = ["--logs", str(tmp_path / "logs"), "--store", store_url]
        first = robo("run", "relance.yaml", "-i", "fichier=dossiers.csv", *where, cwd=tmp_path)
        assert first.returncode == 3, first.stderr
        assert "saisi D1" in first.stderr and "saisi D3" in first.stderr and "saisi D2" not in first.stderr
        [run] = json.loads(robo("runs", "list", "--format", "json", *where, cwd=tmp_path).stdout)
        assert run["status"] == "completed_with_errors"

        data.write_text("reference;nom\nD1;Martin\nD2;Durand\nD3;Lefèvre\n", encoding="utf-8")
        elsewhere = tmp_path / "ailleurs"
        elsewhere.mkdir()
        again = robo("runs", "retry", run["id"][:12], *where, cwd=elsewhere)
        assert again.returncode == 0, again.stderr
        assert "saisi D2 (Durand)" in again.stderr
        assert "saisi D1" not in again.stderr and "saisi D3" not in again.stderr
        shown = json.loads(robo("runs", "show", run["id"], "--format", "json", *where, cwd=tmp_path).stdout)
        assert shown["run"]["status"] == "succeeded"
        assert [(item["key"], item["status"]) for item in shown["items"]] == [
            ("D1", "done"),
            ("D2", "done"),
            ("D3", "done"),
        ]
        assert len(json.loads(robo("runs", "list", "--format", "json", *where, cwd=tmp_path).stdout)) == 1
        report = Path(shown["run"]["run_dir"]) / "report.html"
        assert "All 3 items done." in report.read_text(encoding="utf-8")

    def test_retry_of_an_unknown_run(self, project: Path) -> None:
        robo("run", "releve.yaml", "-i", "fichier=dossiers.csv", cwd=project)
        result = robo("runs", "retry", "nope", cwd=project)
        assert result.returncode == 1
        assert "no run 'nope'" in result.stderr and "Traceback" not in result.stderr


class TestSchemaFile:
    def test_the_schema_written_to_a_file_is_the_one_printed(self, project: Path) -> None:
        result = robo("schema", "-o", "robo.schema.json", cwd=project)
        assert result.returncode == 0, result.stderr
        assert "schema written to robo.schema.json" in result.stderr
        written = json.loads((project / "robo.schema.json").read_text(encoding="utf-8"))
        assert written == json.loads(robo("schema", cwd=project).stdout)
        assert "data.read_csv" in json.dumps(written["$defs"]["Step"])

    def test_a_schema_file_that_cannot_be_written_is_a_clear_error(self, project: Path) -> None:
        result = robo("schema", "-o", "absent/robo.schema.json", cwd=project)
        assert result.returncode == 1
        assert "error: the schema could not be written to absent/robo.schema.json" in result.stderr
        assert "Traceback" not in result.stderr


class TestAuditVerifyPath:
    def run_once(self, project: Path) -> Path:
        result = robo("run", "releve.yaml", "-i", "fichier=dossiers.csv", cwd=project)
        assert result.returncode == 0, result.stderr
        return next(project.glob("logs/releve-des-dossiers/*/audit.jsonl"))

    def test_a_log_named_by_its_path_is_checked_from_anywhere(self, project: Path, tmp_path: Path) -> None:
        audit = self.run_once(project)
        elsewhere = tmp_path / "ailleurs"
        elsewhere.mkdir()
        intact = robo("audit", "verify", str(audit), cwd=elsewhere)
        assert intact.returncode == 0, intact.stderr
        assert f"{audit}: intact:" in intact.stdout
        lines = audit.read_bytes().splitlines(keepends=True)
        index = next(i for i, line in enumerate(lines) if b'"status":"succeeded"' in line)
        lines[index] = lines[index].replace(b'"status":"succeeded"', b'"status":"failed"')
        audit.write_bytes(b"".join(lines))
        changed = robo("audit", "verify", str(audit), cwd=elsewhere)
        assert changed.returncode == 1
        assert f"tampered: line {index + 1}: the record was changed after it was written" in changed.stdout

    def test_records_removed_at_the_end_of_a_log_named_by_its_path_are_found(
        self, project: Path, tmp_path: Path
    ) -> None:
        audit = self.run_once(project)
        lines = audit.read_bytes().splitlines(keepends=True)
        audit.write_bytes(b"".join(lines[:-2]))
        elsewhere = tmp_path / "ailleurs"
        elsewhere.mkdir()
        result = robo("audit", "verify", str(audit), cwd=elsewhere)
        assert result.returncode == 1
        assert f"tampered: line {len(lines) - 1}: the log ends at record {len(lines) - 2}" in result.stdout
        assert f"records {len(lines) - 1} to {len(lines)} were removed at the end" in result.stdout

    def test_a_log_away_from_its_store_is_anchored_by_its_seal(self, project: Path, tmp_path: Path) -> None:
        audit = self.run_once(project)
        copy = tmp_path / "copie" / "audit.jsonl"
        copy.parent.mkdir()
        copy.write_bytes(b"".join(audit.read_bytes().splitlines(keepends=True)[:-1]))
        (copy.parent / "audit.seal").write_bytes((audit.parent / "audit.seal").read_bytes())
        result = robo("audit", "verify", str(copy), cwd=copy.parent)
        assert result.returncode == 1, result.stdout
        assert "were removed at the end" in result.stdout
        assert "checked against its seal only" in result.stderr

    def test_a_log_of_the_older_unkeyed_format_is_said_so(self, project: Path, tmp_path: Path) -> None:
        from tests.record.test_audit import unkeyed_log

        path = tmp_path / "ancien" / "audit.jsonl"
        path.parent.mkdir()
        unkeyed_log(path, 3)
        result = robo("audit", "verify", str(path), cwd=project)
        assert result.returncode == 3, result.stderr
        assert f"{path}: unkeyed (older format): 3 records, hash chain unbroken" in result.stdout

    def test_a_path_that_is_no_log_nor_run(self, project: Path) -> None:
        result = robo("audit", "verify", "absent/audit.jsonl", cwd=project)
        assert result.returncode == 2
        assert "'absent/audit.jsonl' is neither an audit log file nor a known run id" in result.stderr


THIRD_PARTY_ROBOT = '''\
"""A robot of another distribution: stamps texts."""

from robots.kit import Robot, action


class Tampon(Robot):
    """Stamp texts with an office's name."""

    name = "tampon"

    @action
    def apposer(self, texte: str, service: str = "Mairie") -> str:
        """Stamp a text.

        Args:
            texte: The text to stamp.
            service: The office whose stamp it is.
        """
        return f"[{service}] {texte}"
'''


def install_distribution(site: Path, entry_points: str) -> None:
    """Installs `robo_tampon` 1.0 into the folder `site` as pip would: the package and its dist-info."""
    (site / "robo_tampon").mkdir(parents=True)
    (site / "robo_tampon" / "__init__.py").write_text(THIRD_PARTY_ROBOT, encoding="utf-8")
    info = site / "robo_tampon-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: robo-tampon\nVersion: 1.0\nRequires-Dist: robo-rpa\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")


class TestThirdPartyRobots:
    def test_a_robot_installed_by_another_distribution_is_listed_and_runs(self, tmp_path: Path) -> None:
        site = tmp_path / "site"
        install_distribution(site, "[robo.robots]\ntampon = robo_tampon:Tampon\n")
        env = {"PYTHONPATH": f"{ROOT}{os.pathsep}{site}"}
        listed = robo("actions", cwd=tmp_path, env=env)
        assert listed.returncode == 0, listed.stderr
        assert "tampon — Stamp texts with an office's name." in listed.stdout
        assert "tampon.apposer" in listed.stdout and "The office whose stamp it is." in listed.stdout
        (tmp_path / "tampon.yaml").write_text(
            "name: Tampon\nsteps:\n  - tampon.apposer: {texte: Reçu}\n    save: tamponne\n"
            '  - log: "{{ tamponne }}"\n  - tampon.apposr: {texte: x}\n',
            encoding="utf-8",
        )
        invalid = robo("validate", "tampon.yaml", cwd=tmp_path, env=env)
        assert invalid.returncode == 1
        assert "tampon.yaml:6:5: error[unknown-action]" in invalid.stderr and "apposer" in invalid.stderr
        text = (tmp_path / "tampon.yaml").read_text(encoding="utf-8")
        (tmp_path / "tampon.yaml").write_text(
            text.replace("  - tampon.apposr: {texte: x}\n", ""), encoding="utf-8"
        )
        ran = robo("run", "tampon.yaml", cwd=tmp_path, env=env)
        assert ran.returncode == 0, ran.stderr
        assert "[Mairie] Reçu" in ran.stderr
        schema = robo("schema", cwd=tmp_path, env=env)
        assert "tampon.apposer" in schema.stdout

    def test_a_robot_that_cannot_be_loaded_is_named_and_the_others_still_work(self, tmp_path: Path) -> None:
        site = tmp_path / "site"
        install_distribution(site, "[robo.robots]\ncasse = robo_tampon.absent:Casse\n")
        env = {"PYTHONPATH": f"{ROOT}{os.pathsep}{site}"}
        listed = robo("actions", cwd=tmp_path, env=env)
        assert listed.returncode == 0, listed.stderr
        assert "warning: robot 'casse' cannot be loaded" in listed.stderr
        assert "data.read_csv" in listed.stdout
        (tmp_path / "casse.yaml").write_text("name: Casse\nsteps:\n  - casse.faire: {}\n", encoding="utf-8")
        result = robo("run", "casse.yaml", cwd=tmp_path, env=env)
        assert result.returncode == 1
        assert "casse.yaml:3:5" in result.stderr and "casse" in result.stderr
        assert "Traceback" not in result.stderr


class TestStoreErrors:
    def test_a_store_that_cannot_be_reached_is_a_clear_error_without_its_password(
        self, project: Path
    ) -> None:
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        url = f"postgresql+psycopg://robo:Tr3sS3cret@127.0.0.1:{port}/robo"
        for args in (
            ["run", "releve.yaml", "-i", "fichier=dossiers.csv"],
            ["runs", "list"],
            ["schedule", "status"],
        ):
            result = robo(*args, "--store", url, cwd=project)
            assert result.returncode == 1, result.stderr
            assert (
                f"error: cannot open the run store postgresql+psycopg://robo:***@127.0.0.1:{port}/robo"
                in result.stderr
            )
            assert "Connection refused" in result.stderr and "hint: " in result.stderr
            assert "Tr3sS3cret" not in result.stderr and "Traceback" not in result.stderr

    def test_a_store_url_that_is_no_url_or_lacks_its_driver_says_what_to_do(self, project: Path) -> None:
        nonsense = robo("runs", "list", "--store", "logs/robo.db", cwd=project)
        assert nonsense.returncode == 1
        assert "error: cannot open the run store logs/robo.db: it is not a SQLAlchemy URL" in nonsense.stderr
        assert "sqlite:///logs/robo.db" in nonsense.stderr and "Traceback" not in nonsense.stderr
        driver = robo(
            "run",
            "releve.yaml",
            "-i",
            "fichier=dossiers.csv",
            "--store",
            "mysql+nodriver://h/db",
            cwd=project,
        )
        assert driver.returncode == 1
        assert "error: cannot open the run store mysql+nodriver://h/db" in driver.stderr
        assert "Traceback" not in driver.stderr and "internal error" not in driver.stderr

    def test_the_store_password_is_never_shown(self, project: Path, postgres_url: str) -> None:
        url = postgres_url.replace("://robo@", "://robo:Tr3sS3cret@")  # the test server trusts any password
        for args in (["runs", "show", "nope"], ["runs", "report", "nope"]):
            result = robo(*args, "--store", url, cwd=project)
            assert result.returncode == 1
            assert "no run 'nope' in postgresql+psycopg://robo:***@" in result.stderr
            assert "Tr3sS3cret" not in result.stderr
