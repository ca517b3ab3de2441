"""`robo` end to end, in a subprocess, as a user or a cron job would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), **(env or {})},
        check=False,
    )


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
        assert robo("runs", "list", "--status", "failed", cwd=project).stderr.strip() == "no runs found"
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

    def test_show_an_unknown_run(self, project: Path) -> None:
        result = robo("runs", "show", "nope", cwd=project)
        assert result.returncode == 1
        assert "no run 'nope'" in result.stderr


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
            "heavy = [m for m in ('playwright', 'openpyxl', 'pyautogui', 'docx', 'sqlalchemy', 'httpx') if m in sys.modules]; "
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
