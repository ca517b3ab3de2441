"""A project's `robo.toml`: found like git finds its repository, read with its errors placed, its settings applied
after the command option and the environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from robots.kit import ConfigurationError, current_language, set_language, set_zone, zone_label
from runner.run import PROJECT_FILE, Project, find_project_file, load_project, logs_beside


@pytest.fixture(autouse=True)
def language_and_zone_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts in English and the machine's zone, and leaves them so (they are the process's)."""
    for name in ("ROBO_LANG", "ROBO_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    set_language("en")
    set_zone(None)
    yield
    set_language("en")
    set_zone(None)


def project_with(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PROJECT_FILE
    path.write_text(text, encoding="utf-8")
    return path


class TestFinding:
    def test_the_robo_toml_of_a_parent_folder_is_found_from_a_workflow_in_a_subfolder(
        self, tmp_path: Path
    ) -> None:
        path = project_with(tmp_path, 'logs = "traitements"\n')
        workflow = tmp_path / "services" / "etat-civil" / "saisie.yaml"
        workflow.parent.mkdir(parents=True)
        workflow.write_text("name: x\nsteps: []\n", encoding="utf-8")

        assert find_project_file(workflow) == path
        project = load_project(workflow)
        assert project.file == path
        assert (
            project.logs == tmp_path / "traitements"
        )  # relative to the robo.toml, not to the current folder

    def test_the_nearest_robo_toml_wins(self, tmp_path: Path) -> None:
        project_with(tmp_path, 'logs = "haut"\n')
        inner = project_with(tmp_path / "service", 'logs = "bas"\n')

        assert find_project_file(tmp_path / "service" / "saisie.yaml") == inner
        assert load_project(tmp_path / "service").logs == tmp_path / "service" / "bas"

    def test_without_robo_toml_runs_are_recorded_beside_the_workflow(self, tmp_path: Path) -> None:
        workflow = tmp_path / "flux" / "saisie.yaml"
        workflow.parent.mkdir()
        workflow.write_text("name: x\nsteps: []\n", encoding="utf-8")

        project = load_project(workflow)
        assert project == Project()
        assert project.logs_folder(logs_beside(workflow)) == tmp_path / "flux" / "logs"


class TestErrors:
    """A bad robo.toml is a ConfigurationError naming `robo.toml:line` with a hint (the CLI prints it, exit 1)."""

    @pytest.fixture(autouse=True)
    def in_the_project(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)

    def error(self, folder: Path, text: str) -> ConfigurationError:
        project_with(folder, text)
        with pytest.raises(ConfigurationError) as caught:
            load_project(folder)
        return caught.value

    def test_an_unknown_key_is_placed_and_the_close_one_suggested(self, tmp_path: Path) -> None:
        error = self.error(tmp_path, '# mon projet\nlog = "traitements"\n')

        assert error.message == "robo.toml:2: unknown setting 'log'"
        assert error.hint is not None and "did you mean 'logs'?" in error.hint

    def test_a_toml_syntax_error_gives_line_and_column(self, tmp_path: Path) -> None:
        error = self.error(tmp_path, "language = fr\n")

        assert error.message.startswith("robo.toml:1:12: this is not valid TOML")
        assert error.hint is not None and 'logs = "traitements"' in error.hint

    def test_a_language_rob_o_does_not_speak(self, tmp_path: Path) -> None:
        error = self.error(tmp_path, 'logs = "x"\nlanguage = "de"\n')

        assert error.message == "robo.toml:2: Rob'O does not speak the language 'de'"
        assert error.hint == "choose one of: en, fr"

    def test_an_unknown_time_zone(self, tmp_path: Path) -> None:
        error = self.error(tmp_path, 'timezone = "Europe/Pariss"\n')

        assert error.message == "robo.toml:1: unknown time zone 'Europe/Pariss'"
        assert error.hint is not None and "Europe/Paris" in error.hint

    def test_a_value_that_is_not_a_text(self, tmp_path: Path) -> None:
        error = self.error(tmp_path, "\n\nlogs = 3\n")

        assert error.message == "robo.toml:3: 'logs' must be a text in double quotes"
        assert error.hint == 'for example: logs = "logs"'

    def test_from_a_subfolder_the_file_is_named_as_it_is_reached(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / "flux").mkdir()
        monkeypatch.chdir(tmp_path / "flux")
        project_with(tmp_path, 'lang = "fr"\n')
        with pytest.raises(ConfigurationError) as caught:
            load_project(Path())
        assert caught.value.message == "../robo.toml:1: unknown setting 'lang'"


class TestApplying:
    """What decides, first to last: the command option, the environment, robo.toml, the locale (or the machine)."""

    def test_the_language_and_zone_keys_are_applied(self, tmp_path: Path) -> None:
        project_with(tmp_path, 'language = "fr"\ntimezone = "America/Cayenne"\n')

        load_project(tmp_path).apply()

        assert current_language() == "fr"
        assert zone_label() == "America/Cayenne"

    def test_robo_lang_and_robo_timezone_win_over_robo_toml(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        project_with(tmp_path, 'language = "fr"\ntimezone = "America/Cayenne"\n')
        monkeypatch.setenv("ROBO_LANG", "en")
        monkeypatch.setenv("ROBO_TIMEZONE", "Pacific/Noumea")

        load_project(tmp_path).apply()

        assert current_language() == "en"
        assert zone_label() == "Pacific/Noumea"

    def test_the_lang_option_wins_over_robo_toml(self, tmp_path: Path) -> None:
        project_with(tmp_path, 'language = "fr"\n')

        load_project(tmp_path).apply(language_given=True)

        assert current_language() == "en"
