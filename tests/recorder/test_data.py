"""`robo record --data`: reading the sheet, matching typed values to its first row, the loop's bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from robots.browser import Target
from robots.kit import ConfigurationError
from runner.recorder import Action, build_workflow, read_sheet, secret_name

CSV = (
    "Référence externe;Nom;Ville;Montant;Type;Pièces fournies\n"
    "REF-1;Julien;Nantes;141831,55;Autre;Oui\n"
    "REF-2;Garnier;Autre;12;Subvention;Non\n"
)


@pytest.fixture
def sheet_file(tmp_path: Path) -> Path:
    path = tmp_path / "lignes.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def fill(label: str, value: str, page: str = "http://x/form") -> Action:
    return Action("fill", page, Target(label=label), value=value)


class TestSheet:
    def test_a_csv_sheet_has_its_columns_and_an_obvious_key(self, sheet_file: Path) -> None:
        sheet = read_sheet(sheet_file)
        assert sheet.columns[:3] == ["Référence externe", "Nom", "Ville"]
        assert sheet.key_column() == "Référence externe"
        assert sheet.column_of(" Julien ") == "Nom"
        assert sheet.column_of("141831,55") == "Montant"
        assert sheet.column_of("inconnu") is None

    def test_a_value_in_two_columns_goes_to_the_one_named_like_the_field(self, tmp_path: Path) -> None:
        path = tmp_path / "double.csv"
        path.write_text("Ville;Ville de naissance\nNantes;Nantes\n", encoding="utf-8")
        sheet = read_sheet(path)
        assert sheet.column_of("Nantes", "Ville de naissance :") == "Ville de naissance"
        assert sheet.column_of("Nantes") == "Ville"

    def test_no_key_when_no_column_is_named_like_one_or_values_repeat(self, tmp_path: Path) -> None:
        path = tmp_path / "sans_cle.csv"
        path.write_text("Numéro;Nom\n1;A\n1;B\n", encoding="utf-8")
        assert read_sheet(path).key_column() is None

    @pytest.mark.parametrize(
        ("name", "content"), [("absent.csv", None), ("vide.csv", ""), ("texte.txt", "a")]
    )
    def test_a_missing_empty_or_unknown_file_is_a_clear_error(
        self, tmp_path: Path, name: str, content: str | None
    ) -> None:
        path = tmp_path / name
        if content is not None:
            path.write_text(content, encoding="utf-8")
        with pytest.raises(ConfigurationError, match=name):
            read_sheet(path)


class TestParametrised:
    def test_the_form_between_the_first_replaced_field_and_the_submit_is_a_loop(
        self, sheet_file: Path
    ) -> None:
        actions = [
            Action("open", "http://x/login", value="http://x/login"),
            fill("Identifiant", "agent1", "http://x/login"),
            Action("secret", "http://x/login", Target(label="Mot de passe"), secret="mot_de_passe"),
            Action("click", "http://x/login", Target(role="button:Se connecter")),
            fill("Commentaire", "fixe"),
            fill("Nom", "Julien"),
            fill("Ville", "Nantes"),
            Action("click", "http://x/form", Target(role="button:Enregistrer")),
            Action("click", "http://x/done", Target(text="Retour")),
        ]
        workflow = build_workflow(
            actions, url="http://x/login", output=sheet_file.parent / "w.yaml", sheet=read_sheet(sheet_file)
        )
        assert workflow.valid, workflow.diagnostics
        before, loop = workflow.text.split("for_each:")
        assert "Se connecter" in before and "Commentaire" not in before
        assert 'browser.goto: {url: "http://x/form"}' in loop
        assert 'Nom: "{{ demande[\\"Nom\\"] }}"' in loop
        assert "Commentaire: fixe" in loop, "a field on the form's page before the first value is in the loop"
        assert loop.index("Enregistrer") < loop.index("Retour")
        assert [(r.value, r.column) for r in workflow.replaced] == [("Julien", "Nom"), ("Nantes", "Ville")]

    def test_without_a_value_of_the_first_row_there_is_no_loop(self, sheet_file: Path) -> None:
        workflow = build_workflow(
            [fill("Nom", "Personne"), fill("Ville", "Rennes")],
            url="http://x/form",
            output=sheet_file.parent / "w.yaml",
            sheet=read_sheet(sheet_file),
        )
        assert workflow.valid and not workflow.looped and "for_each" not in workflow.text


class TestSecretNames:
    @pytest.mark.parametrize(
        ("label", "name"),
        [
            ("Mot de passe", "mot_de_passe"),
            ("Clé d'accès (API) :", "cle_d_acces_api"),
            ("", "mot_de_passe"),
            ("2e code", "secret_2e_code"),
        ],
    )
    def test_a_secret_is_named_after_its_label(self, label: str, name: str) -> None:
        assert secret_name(label, set()) == name

    def test_two_password_fields_with_one_label_get_two_secrets(self) -> None:
        assert secret_name("Mot de passe", {"mot_de_passe"}) == "mot_de_passe_2"


class TestFrench:
    def test_the_header_and_the_step_names_are_french_for_a_french_reader(self, tmp_path: Path) -> None:
        from robots.kit import set_language

        try:
            set_language("fr")
            workflow = build_workflow(
                [Action("open", "http://x/", value="http://x/"), fill("Nom", "Julien")],
                url="http://x/",
                output=tmp_path / "ma_saisie.yaml",
            )
        finally:
            set_language("en")
        assert workflow.valid, workflow.diagnostics
        assert workflow.text.startswith("# Enregistré avec « robo record » le ")
        assert "name: Ma saisie" in workflow.text
        assert "- name: Saisir « Nom »" in workflow.text or '- name: "Saisir « Nom »"' in workflow.text
