"""The robots speak the language of the person: French under a French locale, English under `LANG=C`.

Each test runs twice, with only `LANG` set (`fr_FR.UTF-8`, then `C`), and asserts the whole text a person reads in
that language: a browser step failing against a page served on 127.0.0.1, an Excel file without a column a step
needs, a path built from data that leads out of the workflow's folder; then a whole `robo run` of both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from robots.browser import Browser, Target
from robots.excel import Excel
from robots.kit import (
    ApplicationError,
    BusinessError,
    RobotContext,
    WorkflowBug,
    current_language,
    set_language,
)
from tests.robots.test_browser_answers import FIELDS, Intranet
from tests.test_translations import robo

LOCALES = {"fr": "fr_FR.UTF-8", "en": "C"}


@pytest.fixture(params=["fr", "en"])
def language(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process with only `LANG` saying the language (the suite's ROBO_LANG=en removed); English after."""
    for variable in ("ROBO_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", LOCALES[request.param])
    set_language()  # from the environment, as `robo` does when no --lang is given
    assert current_language() == request.param
    yield request.param
    set_language("en")


def said(language: str, french: str, english: str) -> str:
    return french if language == "fr" else english


@pytest.fixture
def site() -> Iterator[Intranet]:
    with Intranet() as intranet:
        yield intranet


@pytest.mark.slow
class TestABrowserStepThatFails:
    def test_a_refusal_by_the_page_says_what_the_page_said_and_after_what(
        self, browser: Browser, site: Intranet, language: str
    ) -> None:
        site.submit = "refuse"
        browser.open(url=f"{site.url}/formulaire")
        with pytest.raises(BusinessError) as caught:
            browser.fill_form(fields=FIELDS, submit="Enregistrer", error_when={"css": ".errornote"})
        assert caught.value.message.startswith(
            said(language, "la page a refusé les données : ", "the page refused the data: ")
            + "Corrigez les erreurs ci-dessous.; "
        )
        assert caught.value.cause[0].startswith(
            said(
                language,
                "après l'action « envoi du formulaire avec « Enregistrer » », sur la page « Ajouter dossier » (",
                "after submitting the form with 'Enregistrer', on the page 'Ajouter dossier' (",
            )
            + site.url
        )

    def test_a_server_that_dies_while_answering_is_a_failure_with_its_hint(
        self, browser: Browser, site: Intranet, language: str
    ) -> None:
        site.submit = "die"
        browser.open(url=f"{site.url}/formulaire")
        browser.fill(target=Target(label="Nom du demandeur :"), value="Dupont")
        with pytest.raises(ApplicationError) as caught:
            browser.click(target=Target(role="button", name="Enregistrer"))
        assert caught.value.message.startswith(
            said(
                language,
                "la page ne s'est pas chargée après l'action « clic sur l'élément button « Enregistrer » » : ",
                "the page did not load after clicking the button 'Enregistrer': ",
            )
        )
        assert caught.value.hint == said(
            language,
            "le serveur s'est peut-être arrêté pendant sa réponse : les données ont pu être enregistrées, ou non",
            "the server may have stopped while answering: the data may or may not have been saved",
        )

    def test_a_label_the_page_lacks_is_named_with_the_closest_one(
        self, browser: Browser, site: Intranet, language: str
    ) -> None:
        browser.open(url=f"{site.url}/formulaire")
        with pytest.raises(WorkflowBug) as caught:
            browser.fill(target=Target(label="Nom du demandeurr"), value="Dupont", timeout=20)
        assert caught.value.message == said(
            language,
            "le champ intitulé « Nom du demandeurr » n'est pas sur la page « Ajouter dossier » : "
            "vouliez-vous dire 'Nom du demandeur :' ?",
            "the field labelled 'Nom du demandeurr' is not on the page 'Ajouter dossier': "
            "did you mean 'Nom du demandeur :'?",
        )
        [cause] = caught.value.cause
        pattern = said(
            language, r"sur {url}, après \d+\.\d s d'attente", r"on {url}, after waiting \d+\.\d s"
        )
        assert re.fullmatch(pattern.format(url=re.escape(f"{site.url}/formulaire")), cause), cause


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.append(["nom", "ville"])
    book.active.append(["Dupont", "Lyon"])
    path = tmp_path / "liste.xlsx"
    book.save(path)
    return path


class TestAnExcelFileWithoutAColumn:
    def test_the_missing_column_and_the_columns_there_are_named(
        self, robot_context: RobotContext, workbook: Path, language: str
    ) -> None:
        with pytest.raises(BusinessError) as caught:
            list(Excel(robot_context).read_rows(str(workbook), columns=["code_postal"]))
        assert caught.value.message == said(
            language,
            "liste.xlsx!Sheet n'a pas de colonne 'code_postal' ; ses colonnes sont : 'nom', 'ville'",
            "liste.xlsx!Sheet has no column 'code_postal'; its columns are: 'nom', 'ville'",
        )
        assert caught.value.hint == said(
            language,
            "vérifiez `header_row` et les noms des colonnes",
            "check `header_row` and the column names",
        )

    def test_several_missing_columns_take_the_plural_and_a_close_name_is_suggested(
        self, robot_context: RobotContext, workbook: Path, language: str
    ) -> None:
        with pytest.raises(BusinessError) as caught:
            list(Excel(robot_context).read_rows(str(workbook), columns=["vile", "code_postal"]))
        assert caught.value.message == said(
            language,
            "liste.xlsx!Sheet n'a pas les colonnes 'vile', 'code_postal' ; ses colonnes sont : 'nom', 'ville'",
            "liste.xlsx!Sheet has no columns 'vile', 'code_postal'; its columns are: 'nom', 'ville'",
        )
        assert caught.value.hint == said(language, "vouliez-vous dire 'ville' ?", "did you mean 'ville'?")


class TestAPathOutsideTheWorkspace:
    @pytest.mark.parametrize(
        ("path", "french", "english"),
        [
            (
                "../hors.xlsx",
                "il sort des dossiers autorisés avec « .. »",
                "it climbs out of the allowed folders with '..'",
            ),
            (
                "/etc/passwd",
                "c'est un chemin absolu hors des dossiers autorisés",
                "it is an absolute path outside the allowed folders",
            ),
        ],
    )
    def test_a_path_built_from_data_is_refused_with_the_reason_and_what_to_do(
        self, robot_context: RobotContext, language: str, path: str, french: str, english: str
    ) -> None:
        robot_context.data_values = {path}
        with pytest.raises(BusinessError) as caught:
            robot_context.refuse_outside("browser.fill_form", "fields.Pièce", path)
        assert caught.value.message == said(
            language,
            f"browser.fill_form : le chemin de « fields.Pièce » est refusé, {french} : « {path} »",
            f"browser.fill_form: the path in 'fields.Pièce' is refused, {english}: '{path}'",
        )
        assert (caught.value.hint or "").startswith(
            said(
                language,
                "le chemin vient des données : corrigez-le à la source.",
                "the path comes from the data",
            )
        )


EXPORT = """\
name: Export
steps:
  - for_each: ["../hors.xlsx"]
    as: fichier
    key: fichier
    steps:
      - excel.create_workbook:
          path: "{{ fichier }}"
  - for_each: ["liste.xlsx"]
    as: fichier
    key: fichier
    steps:
      - excel.read_rows:
          path: "{{ fichier }}"
          columns: [code_postal]
"""


class TestARun:
    @pytest.mark.parametrize("language", ["fr", "en"])
    def test_a_failing_run_shows_the_robots_errors_and_hints_in_the_language_of_the_locale(
        self, tmp_path: Path, workbook: Path, language: str
    ) -> None:
        (tmp_path / "export.yaml").write_text(EXPORT, encoding="utf-8")
        result = robo(
            "run", "export.yaml", "--logs", str(tmp_path / "logs"), cwd=tmp_path, LANG=LOCALES[language]
        )
        assert result.returncode == 3, result.stderr
        assert (
            said(
                language,
                "excel.create_workbook : le chemin de « path » est refusé, il sort des dossiers autorisés avec « .. » "
                ": « ../hors.xlsx »",
                "excel.create_workbook: the path in 'path' is refused, it climbs out of the allowed folders with '..': "
                "'../hors.xlsx'",
            )
            in result.stderr
        )
        assert (
            said(
                language,
                "liste.xlsx!Sheet n'a pas de colonne 'code_postal' ; ses colonnes sont : 'nom', 'ville'",
                "liste.xlsx!Sheet has no column 'code_postal'; its columns are: 'nom', 'ville'",
            )
            in result.stderr
        )
        assert (
            said(
                language,
                "conseil : vérifiez `header_row` et les noms des colonnes",
                "hint: check `header_row` and the column names",
            )
            in result.stderr
        )
        hint = said(language, "conseil : le chemin vient des données", "hint: the path comes from the data")
        [line] = [line for line in result.stderr.splitlines() if hint in line]
        assert "…" not in line, "the hint is cut: keep it under the console's width"
