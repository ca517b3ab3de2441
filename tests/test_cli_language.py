"""`robo`'s help and `robo runs` in French under a French locale, in English under LANG=C; the project folder
(`robo.toml`) decides where runs are recorded and their language and zone, after `--lang` and the environment.

Real `robo` processes: what is tested is how the command chooses its language from its own environment.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from robots.kit import set_language
from runner.cli import app
from tests.running import robo_process

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = "name: Un pas\nsteps:\n  - log: bonjour\n"
CLEARED = (
    "ROBO_LANG",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_MESSAGES",
    "ROBO_LOGS",
    "ROBO_STORE_URL",
    "ROBO_TIMEZONE",
)


def robo(*args: str, cwd: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    """`robo` whose only language, zone and records settings are `environ` (the suite's ROBO_LANG=en removed)."""
    return robo_process(*args, cwd=cwd, without=CLEARED, environ={"COLUMNS": "200", **environ})


FRENCH = {"LANG": "fr_FR.UTF-8"}
ENGLISH = {"LANG": "C"}


class TestHelp:
    def test_robo_help_is_french_under_a_french_locale(self, tmp_path: Path) -> None:
        result = robo("--help", cwd=tmp_path, **FRENCH)

        assert result.returncode == 0, result.stderr
        assert "Utilisation :" in result.stdout
        assert "Commandes :" in result.stdout
        assert "Consulter les traitements passés." in result.stdout
        assert "Afficher cette aide et quitter." in result.stdout

    def test_robo_help_is_english_under_lang_c(self, tmp_path: Path) -> None:
        result = robo("--help", cwd=tmp_path, **ENGLISH)

        assert result.returncode == 0, result.stderr
        assert "Usage:" in result.stdout and "Commands:" in result.stdout
        assert "Review past runs." in result.stdout
        assert "Show this message and exit." in result.stdout

    def test_robo_run_help_is_french_with_click_s_notes(self, tmp_path: Path) -> None:
        result = robo("run", "--help", cwd=tmp_path, **FRENCH)

        assert result.returncode == 0, result.stderr
        assert "Lancer un workflow." in result.stdout
        assert "Le fichier du workflow à lancer." in result.stdout
        assert "[obligatoire]" in result.stdout and "par défaut : text" in result.stdout
        assert "Options :" in result.stdout and "Arguments :" in result.stdout

    def test_robo_run_help_is_english_under_lang_c(self, tmp_path: Path) -> None:
        result = robo("run", "--help", cwd=tmp_path, **ENGLISH)

        assert result.returncode == 0, result.stderr
        assert "Run a workflow." in result.stdout and "The workflow file to run." in result.stdout
        assert "[required]" in result.stdout and "[default: text]" in result.stdout

    def test_the_lang_option_is_read_before_the_help_is_written(self) -> None:
        # In this process (the parsing is what is tested): --lang comes before the help that Typer builds first.
        try:
            french = CliRunner().invoke(app, ["--lang", "fr", "--help"])
            english = CliRunner().invoke(app, ["--lang=en", "runs", "--help"])
        finally:
            set_language("en")

        assert "Consulter les traitements passés." in french.stdout
        assert "List runs, newest first." in english.stdout


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a workflow run once from another folder (no robo.toml): its runs are recorded beside it."""
    top = tmp_path_factory.mktemp("sans-projet")
    (top / "flux").mkdir()
    (top / "ailleurs").mkdir()
    (top / "flux" / "un-pas.yaml").write_text(WORKFLOW, encoding="utf-8")
    result = robo("run", "../flux/un-pas.yaml", cwd=top / "ailleurs", **ENGLISH)
    assert result.returncode == 0, result.stderr
    return top


class TestRuns:
    def test_runs_are_recorded_beside_the_workflow_not_in_the_current_folder(self, recorded: Path) -> None:
        assert (recorded / "flux" / "logs" / "robo.db").is_file()
        assert list((recorded / "ailleurs").iterdir()) == []

    def test_runs_list_in_french(self, recorded: Path) -> None:
        result = robo("runs", "list", cwd=recorded / "flux", ROBO_TIMEZONE="Europe/Paris", **FRENCH)

        assert result.returncode == 0, result.stderr
        assert "traitements enregistrés dans sqlite:///" in result.stderr
        for heading in ("traitement", "état", "début (Europe/Paris)", "durée", "dossiers traités/en échec"):
            assert heading in result.stdout
        assert "réussi" in result.stdout and "succeeded" not in result.stdout
        assert re.search(r"\b\d+,\d s\b", result.stdout), result.stdout  # a French decimal comma

    def test_runs_list_in_english(self, recorded: Path) -> None:
        result = robo("runs", "list", cwd=recorded / "flux", ROBO_TIMEZONE="UTC", **ENGLISH)

        assert result.returncode == 0, result.stderr
        assert "runs recorded in sqlite:///" in result.stderr
        for heading in ("run", "status", "started (UTC)", "duration", "items done/failed"):
            assert heading in result.stdout
        assert "succeeded" in result.stdout

    def test_runs_show_last_in_french(self, recorded: Path) -> None:
        result = robo("runs", "show", "last", cwd=recorded / "flux", ROBO_TIMEZONE="Europe/Paris", **FRENCH)

        assert result.returncode == 0, result.stderr
        assert "traitement " in result.stdout and "de « Un pas »" in result.stdout
        assert "état : réussi ; commencé le " in result.stdout and "(Europe/Paris)" in result.stdout
        assert "étapes" in result.stdout

    def test_runs_show_last_in_english(self, recorded: Path) -> None:
        result = robo("runs", "show", "last", cwd=recorded / "flux", ROBO_TIMEZONE="UTC", **ENGLISH)

        assert result.returncode == 0, result.stderr
        assert "of 'Un pas'" in result.stdout
        assert "status: succeeded; started " in result.stdout and "(UTC)" in result.stdout

    def test_runs_from_the_other_folder_says_where_runs_go_and_makes_no_logs(self, recorded: Path) -> None:
        result = robo("runs", "list", cwd=recorded / "ailleurs", **FRENCH)

        assert result.returncode == 1
        assert "aucun traitement n'a été enregistré dans logs" in result.stderr
        assert "--project" in result.stderr
        assert list((recorded / "ailleurs").iterdir()) == []
        found = robo("runs", "list", "--project", "../flux", cwd=recorded / "ailleurs", **ENGLISH)
        assert found.returncode == 0 and "Un pas" in found.stdout


class TestProjectFile:
    def test_a_robo_toml_found_from_a_subfolder_decides_records_language_and_zone(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "robo.toml").write_text(
            'logs = "traitements"\nlanguage = "fr"\ntimezone = "America/Cayenne"\n', encoding="utf-8"
        )
        (tmp_path / "services" / "etat-civil").mkdir(parents=True)
        (tmp_path / "services" / "etat-civil" / "un-pas.yaml").write_text(WORKFLOW, encoding="utf-8")

        ran = robo("run", "services/etat-civil/un-pas.yaml", cwd=tmp_path, **ENGLISH)
        assert ran.returncode == 0, ran.stderr
        assert "traitement réussi" in ran.stdout + ran.stderr  # robo.toml's language over LANG=C
        assert (tmp_path / "traitements" / "robo.db").is_file()
        assert not (tmp_path / "services" / "etat-civil" / "logs").exists()
        checked = robo("validate", "services/etat-civil/un-pas.yaml", cwd=tmp_path, **ENGLISH)
        assert checked.returncode == 0 and checked.stderr.strip().endswith(" : ok"), checked.stderr  # French

        listed = robo("runs", "list", cwd=tmp_path / "services", **ENGLISH)  # the project found upwards
        assert listed.returncode == 0, listed.stderr
        assert "début (America/Cayenne)" in listed.stdout

        # What decides: the command option, then the environment, then robo.toml.
        by_option = robo("--lang", "en", "runs", "list", cwd=tmp_path, **FRENCH)
        by_environment = robo("runs", "list", cwd=tmp_path, ROBO_LANG="en", ROBO_TIMEZONE="UTC", **FRENCH)
        assert "started (America/Cayenne)" in by_option.stdout
        assert "started (UTC)" in by_environment.stdout

    def test_a_bad_robo_toml_is_a_clear_error_without_traceback(self, tmp_path: Path) -> None:
        (tmp_path / "robo.toml").write_text('# projet\nlog = "traitements"\n', encoding="utf-8")
        (tmp_path / "un-pas.yaml").write_text(WORKFLOW, encoding="utf-8")

        english = robo("run", "un-pas.yaml", cwd=tmp_path, **ENGLISH)
        french = robo("runs", "list", cwd=tmp_path, **FRENCH)

        assert english.returncode == 1
        assert english.stderr.splitlines()[:2] == [
            "error: robo.toml:2: unknown setting 'log'",
            "  hint: did you mean 'logs'? the settings are: logs, store, language, timezone",
        ]
        assert french.returncode == 1
        assert "erreur : robo.toml:2 : réglage inconnu « log »" in french.stderr
        assert "Traceback" not in english.stderr + french.stderr
