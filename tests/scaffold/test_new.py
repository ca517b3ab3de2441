"""`robo new`: a project folder from each template, whole or not at all, and every bad name or place refused in
words (French by default), never with a traceback."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from robots.kit import ConfigurationError
from runner.language import SCHEMA_COMMENT, SCHEMA_FILE, schema_text
from runner.scaffold import (
    DEFAULT_TEMPLATE,
    INTRANET_PORT,
    MAIL_PORT,
    TEMPLATES,
    checked_name,
    create_project,
)
from runner.scaffold import project as project_module
from tests.running import ROOT, robo_process

TEMPLATE_NAMES = sorted(TEMPLATES)
# Where a template's sample data comes from: the shipped examples' own files, byte for byte (one source).
SHIPPED_DATA = {
    "saisie": {"data/demandes.xlsx": "dossiers.xlsx"},
    "publipostage": {
        "data/destinataires.xlsx": "publipostage/destinataires.xlsx",
        "data/modele_courrier.docx": "publipostage/modele_courrier.docx",
    },
    "bureau": {"data/demandes.xlsx": "dossiers_bureau.xlsx"},
    "classement": {
        f"data/entrants/{name}": f"classement/entrants/{name}"
        for name in (
            "courrier_mme_durand.docx",
            "facture_2026-0142.pdf",
            "facture_eau_mars.txt",
            "note_service_reunion.txt",
            "photo_chantier.jpg",
        )
    },
    "rapport": {},
}


def _yaml(path: Path) -> dict[str, object]:
    data: dict[str, object] = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    return data


def _french(*args: str, cwd: Path) -> tuple[int, str, str]:
    result = robo_process("--lang", "fr", *args, cwd=cwd)
    return result.returncode, result.stdout, result.stderr


class TestEachTemplate:
    @pytest.mark.parametrize("name", TEMPLATE_NAMES)
    def test_the_project_holds_its_workflow_readme_settings_schema_and_data(
        self, name: str, tmp_path: Path
    ) -> None:
        project = create_project("projet", name, tmp_path)
        folder = tmp_path / "projet"
        assert project.folder == folder
        workflow = folder / f"{name}.yaml"
        assert project.workflow == workflow
        assert workflow.read_text(encoding="utf-8").startswith(f"{SCHEMA_COMMENT}{SCHEMA_FILE}\n")
        assert (folder / SCHEMA_FILE).read_text(encoding="utf-8") == schema_text()
        assert "robo intranet" in (folder / "README.md").read_text(encoding="utf-8") or name == "classement"
        assert (folder / "robo.toml").is_file()
        assert (folder / ".gitignore").read_text(encoding="utf-8").count("logs/") == 1
        for copied, shipped in SHIPPED_DATA[name].items():
            assert (folder / copied).read_bytes() == (ROOT / "workflows" / "data" / shipped).read_bytes()
        assert not list(tmp_path.glob(".projet.*")), "the staging folder is left behind"

    @pytest.mark.parametrize("name", TEMPLATE_NAMES)
    def test_the_workflow_is_named_and_commented(self, name: str, tmp_path: Path) -> None:
        project = create_project("projet", name, tmp_path)
        assert _yaml(project.workflow)["name"]
        text = project.workflow.read_text(encoding="utf-8")
        comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
        assert len(comments) >= 15, "a template explains its steps to a non-programmer"

    def test_the_templates_default_to_the_training_systems_ports(self) -> None:
        for template in TEMPLATES.values():
            inputs = _yaml(Path(str(template.folder() / template.workflow)))["inputs"]
            assert isinstance(inputs, dict)
            if "intranet" in inputs:
                assert inputs["intranet"]["default"] == f"http://127.0.0.1:{INTRANET_PORT}"
            if "smtp_port" in inputs:
                assert inputs["smtp_port"]["default"] == MAIL_PORT

    def test_the_default_template_is_saisie(self, tmp_path: Path) -> None:
        assert DEFAULT_TEMPLATE == "saisie"
        code, out, err = _french("new", "projet", cwd=tmp_path)
        assert code == 0, err
        assert (tmp_path / "projet" / "saisie.yaml").is_file()
        assert "Projet projet créé à partir du modèle « saisie »" in out
        assert "robo run saisie.yaml" in out

    def test_the_help_names_every_template(self) -> None:
        result = robo_process("new", "--help", cwd=ROOT)
        assert result.returncode == 0
        for name in TEMPLATES:
            assert name in result.stdout


class TestEveryProjectValidates:
    def test_robo_validate_passes_on_each_new_project(self, tmp_path: Path, xvfb_display: object) -> None:
        workflows = [str(create_project(name, name, tmp_path).workflow) for name in TEMPLATE_NAMES]
        result = robo_process("validate", *workflows, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        said = result.stdout + result.stderr
        assert said.count(": ok") == len(TEMPLATE_NAMES)
        # The one warning: a mail sent cannot be looked for afterwards (an interrupted send is left to check).
        warnings = [line for line in said.splitlines() if "warning[" in line]
        assert len(warnings) == 1
        assert "publipostage.yaml:" in warnings[0]
        assert "warning[no-already-done]" in warnings[0]


class TestNames:
    @pytest.mark.parametrize(
        "name", ["saisie-subventions", "tri_courrier", "Équipe_2026", "aides-à-l-emploi"]
    )
    def test_letters_accents_digits_dashes_and_underscores_are_accepted(
        self, name: str, tmp_path: Path
    ) -> None:
        assert create_project(name, "classement", tmp_path).folder == tmp_path / name

    def test_a_name_is_kept_in_its_composed_form(self) -> None:
        assert checked_name("e\u0301quipe") == "équipe"

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("../dehors", "est un chemin"),
            ("a/b", "est un chemin"),
            ("..", "est un chemin"),
            ("mon projet", "ne peut pas être le nom d'un projet"),
            ("-option", "ne peut pas être le nom d'un projet"),
            (".cache", "ne peut pas être le nom d'un projet"),
            ("x" * 65, "65 caractères"),
            ("   ", "un projet a besoin d'un nom"),
        ],
    )
    def test_a_bad_name_is_refused_in_words_and_nothing_is_written(
        self, name: str, expected: str, tmp_path: Path
    ) -> None:
        work = tmp_path / "travail"
        work.mkdir()
        code, _out, err = _french("new", "--", name, cwd=work)
        assert code == 1
        assert expected in err, err
        assert "Traceback" not in err
        assert "conseil" in err
        assert list(work.iterdir()) == []
        assert list(tmp_path.iterdir()) == [work]

    def test_a_name_with_spaces_gets_a_suggestion(self) -> None:
        with pytest.raises(ConfigurationError) as refused:
            checked_name("mon projet")
        assert refused.value.hint is not None
        assert "mon-projet" in refused.value.hint

    def test_an_unknown_template_is_refused_with_a_suggestion(self, tmp_path: Path) -> None:
        code, _out, err = _french("new", "projet", "--template", "publipostag", cwd=tmp_path)
        assert code == 1
        assert "il n'y a pas de modèle de projet « publipostag »" in err
        assert "publipostage" in err
        assert list(tmp_path.iterdir()) == []

    def test_english_when_asked(self, tmp_path: Path) -> None:
        result = robo_process("--lang", "en", "new", "mon projet", cwd=tmp_path)
        assert result.returncode == 1
        assert "'mon projet' cannot be a project's name" in result.stderr


class TestWhereItGoes:
    def test_an_existing_folder_with_files_is_refused_and_left_untouched(self, tmp_path: Path) -> None:
        (tmp_path / "projet").mkdir()
        (tmp_path / "projet" / "notes.txt").write_text("à garder", encoding="utf-8")
        code, _out, err = _french("new", "projet", cwd=tmp_path)
        assert code == 1
        assert "existe déjà et n'est pas un dossier vide" in err
        assert [path.name for path in (tmp_path / "projet").iterdir()] == ["notes.txt"]
        assert sorted(path.name for path in tmp_path.iterdir()) == ["projet"]

    def test_an_existing_file_of_that_name_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "projet").write_text("", encoding="utf-8")
        with pytest.raises(ConfigurationError, match="already exists"):
            create_project("projet", "saisie", tmp_path)

    def test_an_empty_folder_of_that_name_is_filled(self, tmp_path: Path) -> None:
        (tmp_path / "projet").mkdir()
        create_project("projet", "rapport", tmp_path)
        assert (tmp_path / "projet" / "rapport.yaml").is_file()

    def test_the_project_folder_has_the_usual_permissions(self, tmp_path: Path) -> None:
        folder = create_project("projet", "saisie", tmp_path).folder
        mask = os.umask(0)
        os.umask(mask)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~mask

    @pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a read-only folder")
    def test_a_read_only_parent_is_refused_in_words(self, tmp_path: Path) -> None:
        parent = tmp_path / "lecture-seule"
        parent.mkdir()
        parent.chmod(0o555)
        try:
            code, _out, err = _french("new", "projet", cwd=parent)
        finally:
            parent.chmod(0o755)
        assert code == 1
        assert "le projet ne peut pas être écrit dans" in err
        assert list(parent.iterdir()) == []

    def test_a_parent_the_system_will_not_write_in_is_refused_in_words(self) -> None:
        # /proc refuses new folders even to root: a place where nothing can be written, whoever runs the test.
        code, _out, err = _french("new", "projet", cwd=Path("/proc"))
        assert code == 1
        assert "le projet ne peut pas être écrit dans /proc" in err
        assert "Traceback" not in err

    def test_ctrl_c_while_writing_leaves_nothing_behind(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        written: list[Path] = []
        real_write = Path.write_bytes

        def write_then_interrupt(path: Path, data: bytes) -> int:
            size = real_write(path, data)
            written.append(path)
            if len(written) == 3:
                raise KeyboardInterrupt
            return size

        monkeypatch.setattr(Path, "write_bytes", write_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            create_project("projet", "classement", tmp_path)
        assert len(written) == 3
        assert list(tmp_path.iterdir()) == []

    def test_a_folder_filled_while_the_project_was_written_is_not_replaced(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real_put = project_module._put_in_place

        def someone_else_first(staging: Path, target: Path) -> None:
            target.mkdir()
            (target / "autre.txt").write_text("déjà là", encoding="utf-8")
            real_put(staging, target)

        monkeypatch.setattr(project_module, "_put_in_place", someone_else_first)
        with pytest.raises(ConfigurationError, match="already exists"):
            create_project("projet", "saisie", tmp_path)
        assert [path.name for path in (tmp_path / "projet").iterdir()] == ["autre.txt"]
        assert sorted(path.name for path in tmp_path.iterdir()) == ["projet"]
