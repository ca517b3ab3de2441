"""The `word` robot: templates, reading, replacing across runs, appending, PDF conversion."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.document import Document

from robots.kit import ApplicationError, BusinessError, ConfigurationError, RobotContext
from robots.word import LIBREOFFICE_PACKAGE, Word


@pytest.fixture
def artifacts() -> list[tuple[Path, str, str]]:
    return []


def make_context(tmp_path: Path, artifacts: list[tuple[Path, str, str]], **settings: Any) -> RobotContext:
    return RobotContext(
        run_id="t",
        workflow_name="t",
        workflow_dir=tmp_path,
        artifacts_dir=tmp_path / "artifacts",
        settings=settings,
        record_artifact=lambda path, kind, description: artifacts.append((path, kind, description)),
    )


@pytest.fixture
def word(tmp_path: Path, artifacts: list[tuple[Path, str, str]]) -> Iterator[Word]:
    robot = Word(make_context(tmp_path, artifacts))
    yield robot
    robot.close()


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


def make_template(path: Path) -> Path:
    """A letter template as an agent would write it in Word: placeholders, a table loop, a conditional paragraph."""
    document = docx.Document()
    document.add_paragraph("Objet : {{ objet }}")
    greeting = document.add_paragraph()
    # Word often splits a placeholder into several runs (spell-checking, a change of formatting).
    greeting.add_run("Madame, Monsieur {{ ")
    greeting.add_run("nom").bold = True
    greeting.add_run(" }},")
    document.add_paragraph("{%p if montant %}")
    document.add_paragraph("Montant accordé : {{ montant }}")
    document.add_paragraph("{%p endif %}")
    table = document.add_table(rows=4, cols=2)
    table.rows[0].cells[0].text = "Pièce"
    table.rows[0].cells[1].text = "Quantité"
    table.rows[1].cells[0].text = "{%tr for piece in pieces %}"
    table.rows[2].cells[0].text = "{{ piece.libelle }}"
    table.rows[2].cells[1].text = "{{ piece.quantite }}"
    table.rows[3].cells[0].text = "{%tr endfor %}"
    document.add_paragraph("Adresse :\n{{ adresse }}")
    document.save(str(path))
    return path


VALUES: dict[str, Any] = {
    "objet": "Demande d'aide au logement n° 2026-0042",
    "nom": "Éloïse Lefèvre-Dœuf",
    "montant": "1 234,50 €",
    "pieces": [
        {"libelle": "Relevé d'identité bancaire", "quantite": 1},
        {"libelle": "Avis d'imposition « 2025 »", "quantite": 2},
        {"libelle": "Quittance de loyer", "quantite": 3},
    ],
    "adresse": "12 rue de l'Église\n69001 Lyon",
}


def table_rows(document: Document) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in document.tables[0].rows]


class TestActionSpecs:
    def test_declares_its_actions_each_returning_a_value(self) -> None:
        specs = Word.action_specs()
        assert set(specs) == {
            "render_template",
            "read_text",
            "replace_text",
            "append_paragraph",
            "append_table",
            "to_pdf",
        }
        for spec in specs.values():
            assert spec.returns

    def test_only_reading_has_no_side_effects(self) -> None:
        quiet = {name for name, spec in Word.action_specs().items() if not spec.side_effects}
        assert quiet == {"read_text"}


class TestRenderTemplate:
    def test_fills_placeholders_repeats_table_rows_and_keeps_accents(
        self, word: Word, tmp_path: Path
    ) -> None:
        template = make_template(tmp_path / "modèle.docx")
        written = word.render_template(str(template), "courriers/lettre-1.docx", VALUES)

        assert written == str((tmp_path / "courriers" / "lettre-1.docx").resolve())
        document = docx.Document(written)
        texts = [paragraph.text for paragraph in document.paragraphs]
        assert "Objet : Demande d'aide au logement n° 2026-0042" in texts
        assert "Madame, Monsieur Éloïse Lefèvre-Dœuf," in texts
        assert "Montant accordé : 1 234,50 €" in texts
        assert table_rows(document) == [
            ["Pièce", "Quantité"],
            ["Relevé d'identité bancaire", "1"],
            ["Avis d'imposition « 2025 »", "2"],
            ["Quittance de loyer", "3"],
        ]
        assert not any("{" in text for text in texts)
        assert "12 rue de l'Église\n69001 Lyon" in word.read_text(written)
        assert leftovers(tmp_path / "courriers") == []

    def test_a_false_condition_drops_its_paragraph_and_none_shows_nothing(
        self, word: Word, tmp_path: Path
    ) -> None:
        template = make_template(tmp_path / "modele.docx")
        written = word.render_template(
            str(template), "lettre.docx", {**VALUES, "montant": None, "objet": None}
        )
        text = word.read_text(written)
        assert "Montant accordé" not in text
        assert "Objet : \n" in text
        assert "None" not in text

    def test_markup_characters_in_values_stay_text(self, word: Word, tmp_path: Path) -> None:
        template = make_template(tmp_path / "modele.docx")
        written = word.render_template(
            str(template), "lettre.docx", {**VALUES, "nom": 'Dupont & Fils <SARL> "l\'Atelier"'}
        )
        assert 'Madame, Monsieur Dupont & Fils <SARL> "l\'Atelier",' in word.read_text(written)

    def test_a_value_that_looks_like_a_template_stays_text(self, word: Word, tmp_path: Path) -> None:
        template = make_template(tmp_path / "modele.docx")
        written = word.render_template(
            str(template), "lettre.docx", {**VALUES, "nom": "{{ 7 * 7 }} {% if x %}"}
        )
        assert "Madame, Monsieur {{ 7 * 7 }} {% if x %}," in word.read_text(written)

    def test_missing_values_are_a_business_error_naming_every_placeholder(
        self, word: Word, tmp_path: Path
    ) -> None:
        template = make_template(tmp_path / "modele.docx")
        values = {key: value for key, value in VALUES.items() if key not in ("nom", "adresse")}
        with pytest.raises(BusinessError) as caught:
            word.render_template(str(template), "lettre.docx", values)
        assert (
            str(caught.value)
            == "word.render_template: no value for adresse, nom (placeholders of modele.docx)"
        )
        assert caught.value.hint is not None and "values:" in caught.value.hint
        assert not (tmp_path / "lettre.docx").exists()

    def test_a_missing_field_of_a_row_is_a_business_error(self, word: Word, tmp_path: Path) -> None:
        template = make_template(tmp_path / "modele.docx")
        values = {**VALUES, "pieces": [{"libelle": "RIB"}]}
        with pytest.raises(BusinessError, match="quantite"):
            word.render_template(str(template), "lettre.docx", values)
        assert not (tmp_path / "lettre.docx").exists()
        assert leftovers(tmp_path) == []

    def test_an_existing_output_is_replaced_only_by_a_complete_document(
        self, word: Word, tmp_path: Path
    ) -> None:
        template = make_template(tmp_path / "modele.docx")
        (tmp_path / "lettre.docx").write_bytes(b"ancienne version")
        with pytest.raises(BusinessError):
            word.render_template(str(template), "lettre.docx", {})
        assert (tmp_path / "lettre.docx").read_bytes() == b"ancienne version"
        word.render_template(str(template), "lettre.docx", VALUES)
        assert "Éloïse" in word.read_text(str(tmp_path / "lettre.docx"))

    def test_records_the_output_as_an_artifact(
        self, word: Word, tmp_path: Path, artifacts: list[tuple[Path, str, str]]
    ) -> None:
        template = make_template(tmp_path / "modele.docx")
        word.render_template(str(template), "lettre.docx", VALUES)
        assert artifacts == [(tmp_path / "lettre.docx", "output", "written by word.render_template")]

    def test_a_missing_template_is_a_configuration_error(self, word: Word) -> None:
        with pytest.raises(ConfigurationError, match="template not found"):
            word.render_template("absent.docx", "lettre.docx", {})

    def test_a_template_with_a_broken_tag_is_a_configuration_error(self, word: Word, tmp_path: Path) -> None:
        document = docx.Document()
        document.add_paragraph("Bonjour {{ nom }")
        document.save(str(tmp_path / "casse.docx"))
        with pytest.raises(ConfigurationError, match=r"template casse\.docx"):
            word.render_template("casse.docx", "lettre.docx", {"nom": "x"})

    def test_a_file_that_is_not_a_docx_is_refused(self, word: Word, tmp_path: Path) -> None:
        (tmp_path / "faux.docx").write_text("pas un document")
        with pytest.raises(ConfigurationError, match="not a readable Word document"):
            word.render_template("faux.docx", "lettre.docx", {})
        with pytest.raises(BusinessError, match="not a readable Word document"):
            word.read_text("faux.docx")


def split_run_document(path: Path) -> Path:
    """Text split across runs with different formatting, as Word stores edited text."""
    document = docx.Document()
    paragraph = document.add_paragraph()
    paragraph.add_run("Dossier n° ")
    paragraph.add_run("[NUM").bold = True
    paragraph.add_run("ÉRO]").italic = True
    paragraph.add_run(" du ")
    paragraph.add_run("[DA").underline = True
    paragraph.add_run("TE]")
    paragraph.add_run(", rappel : [NUMÉRO].")
    table = document.add_table(rows=1, cols=1)
    table.rows[0].cells[0].paragraphs[0].add_run("Réf. [NU")
    table.rows[0].cells[0].paragraphs[0].add_run("MÉRO]").bold = True
    document.sections[0].header.paragraphs[0].text = "Mairie — dossier [NUMÉRO]"
    document.save(str(path))
    return path


class TestReplaceText:
    def test_replaces_text_split_across_runs_keeping_each_runs_formatting(
        self, word: Word, tmp_path: Path
    ) -> None:
        source = split_run_document(tmp_path / "dossier.docx")
        written = word.replace_text(
            str(source), {"[NUMÉRO]": "2026-0042", "[DATE]": "1er mars 2026"}, output="rempli.docx"
        )

        paragraph = docx.Document(written).paragraphs[0]
        assert paragraph.text == "Dossier n° 2026-0042 du 1er mars 2026, rappel : 2026-0042."
        runs = [(run.text, run.bold, run.italic, run.underline) for run in paragraph.runs]
        assert runs == [
            ("Dossier n° ", None, None, None),
            ("2026-0042", True, None, None),  # the formatting of the run where "[NUMÉRO]" started
            ("", None, True, None),
            (" du ", None, None, None),
            ("1er mars 2026", None, None, True),
            ("", None, None, None),
            (", rappel : 2026-0042.", None, None, None),
        ]

    def test_replaces_in_tables_and_headers_and_leaves_the_source_unchanged(
        self, word: Word, tmp_path: Path
    ) -> None:
        source = split_run_document(tmp_path / "dossier.docx")
        before = source.read_bytes()
        written = word.replace_text(
            str(source), {"[NUMÉRO]": "2026-0042"}, output="rempli.docx", required=False
        )
        document = docx.Document(written)
        assert document.tables[0].rows[0].cells[0].text == "Réf. 2026-0042"
        assert document.sections[0].header.paragraphs[0].text == "Mairie — dossier 2026-0042"
        assert source.read_bytes() == before
        assert "Mairie — dossier 2026-0042" in word.read_text(written, headers=True)

    def test_replaces_the_document_itself_by_default(self, word: Word, tmp_path: Path) -> None:
        source = split_run_document(tmp_path / "dossier.docx")
        assert word.replace_text(str(source), {"[DATE]": "2 mars"}) == str(source.resolve())
        assert "Dossier n° [NUMÉRO] du 2 mars" in word.read_text(str(source))
        assert leftovers(tmp_path) == []

    def test_a_text_not_found_is_a_business_error_unless_not_required(
        self, word: Word, tmp_path: Path
    ) -> None:
        source = split_run_document(tmp_path / "dossier.docx")
        with pytest.raises(BusinessError, match=r"'\[SIGNATURE\]' not found in dossier\.docx"):
            word.replace_text(str(source), {"[SIGNATURE]": "Le maire"}, output="rempli.docx")
        assert not (tmp_path / "rempli.docx").exists()
        word.replace_text(str(source), {"[SIGNATURE]": "Le maire"}, output="rempli.docx", required=False)
        assert (tmp_path / "rempli.docx").exists()

    def test_a_text_is_not_found_across_a_tab(self, word: Word, tmp_path: Path) -> None:
        document = docx.Document()
        document.add_paragraph("AB\tCD")
        document.save(str(tmp_path / "tab.docx"))
        with pytest.raises(BusinessError):
            word.replace_text("tab.docx", {"BC": "x"})
        word.replace_text("tab.docx", {"CD": "é"})
        assert word.read_text("tab.docx") == "AB\té"


class TestReadText:
    def test_reads_paragraphs_and_table_rows_in_order(self, word: Word, tmp_path: Path) -> None:
        document = docx.Document()
        document.add_paragraph("Première ligne")
        table = document.add_table(rows=2, cols=2)
        for row, cells in zip(table.rows, [["Nom", "Ville"], ["Lefèvre", "Nîmes"]], strict=True):
            for cell, text in zip(row.cells, cells, strict=True):
                cell.text = text
        document.add_paragraph("Dernière ligne")
        document.sections[0].footer.paragraphs[0].text = "Pied de page"
        document.save(str(tmp_path / "doc.docx"))
        assert word.read_text("doc.docx") == "Première ligne\nNom\tVille\nLefèvre\tNîmes\nDernière ligne"
        assert word.read_text("doc.docx", headers=True).startswith("Pied de page\n")

    def test_an_old_doc_file_is_a_configuration_error_with_a_hint(self, word: Word, tmp_path: Path) -> None:
        (tmp_path / "ancien.doc").write_bytes(b"\xd0\xcf\x11\xe0")
        with pytest.raises(ConfigurationError, match=r"old Word format") as caught:
            word.read_text("ancien.doc")
        assert caught.value.hint is not None and ".docx" in caught.value.hint


class TestAppend:
    def test_appends_a_styled_paragraph_and_a_table_of_records(self, word: Word, tmp_path: Path) -> None:
        docx.Document().save(str(tmp_path / "rapport.docx"))
        word.append_paragraph("rapport.docx", "Synthèse des dossiers", style="Heading 1")
        records: list[dict[str, Any]] = [
            {"Nom": "Lefèvre", "Montant": 12.0, "Urgent": True},
            {"Nom": "Dœuf", "Montant": None, "Urgent": False},
        ]
        written = word.append_table("rapport.docx", records, output="rapport-final.docx")
        document = docx.Document(written)
        assert document.paragraphs[-1].text == "Synthèse des dossiers"
        assert document.paragraphs[-1].style is not None and document.paragraphs[-1].style.name == "Heading 1"
        assert table_rows(document) == [
            ["Nom", "Montant", "Urgent"],
            ["Lefèvre", "12", "oui"],
            ["Dœuf", "", "non"],
        ]
        assert document.tables[0].rows[0].cells[0].paragraphs[0].runs[0].bold is True
        assert document.tables[0].style is not None and document.tables[0].style.name == "Table Grid"

    def test_appends_a_table_of_lists_with_chosen_columns(self, word: Word, tmp_path: Path) -> None:
        docx.Document().save(str(tmp_path / "rapport.docx"))
        word.append_table("rapport.docx", [["a", 1], ["b", 2]], columns=["Lettre", "Chiffre"])
        assert table_rows(docx.Document(str(tmp_path / "rapport.docx"))) == [
            ["Lettre", "Chiffre"],
            ["a", "1"],
            ["b", "2"],
        ]

    def test_an_unknown_style_is_a_configuration_error_with_a_suggestion(
        self, word: Word, tmp_path: Path
    ) -> None:
        docx.Document().save(str(tmp_path / "rapport.docx"))
        with pytest.raises(ConfigurationError, match="no paragraph style named 'Heading1'") as caught:
            word.append_paragraph("rapport.docx", "x", style="Heading1")
        assert caught.value.hint == "did you mean 'Heading 1'?"

    def test_mixed_rows_are_refused(self, word: Word, tmp_path: Path) -> None:
        docx.Document().save(str(tmp_path / "rapport.docx"))
        with pytest.raises(BusinessError, match="all records"):
            word.append_table("rapport.docx", [{"a": 1}, ["b"]])  # type: ignore[arg-type]  # mixed on purpose


def fake_soffice(tmp_path: Path, script: str) -> Path:
    program = tmp_path / "fake-soffice"
    program.write_text(f"#!/bin/sh\n{script}\n")
    program.chmod(0o755)
    return program


class TestToPdf:
    def test_a_missing_libreoffice_is_a_configuration_error_naming_the_package(
        self, tmp_path: Path, artifacts: list[tuple[Path, str, str]]
    ) -> None:
        docx.Document().save(str(tmp_path / "lettre.docx"))
        robot = Word(
            make_context(tmp_path, artifacts, word={"soffice": str(tmp_path / "absent" / "soffice")})
        )
        with pytest.raises(ConfigurationError, match="LibreOffice was not found") as caught:
            robot.to_pdf("lettre.docx")
        assert caught.value.hint is not None and LIBREOFFICE_PACKAGE in caught.value.hint

    def test_a_conversion_that_hangs_is_stopped_at_the_timeout(
        self, tmp_path: Path, artifacts: list[tuple[Path, str, str]]
    ) -> None:
        docx.Document().save(str(tmp_path / "lettre.docx"))
        program = fake_soffice(tmp_path, "sleep 30")
        robot = Word(make_context(tmp_path, artifacts, word={"soffice": str(program)}))
        with pytest.raises(ApplicationError, match=r"did not convert lettre\.docx within 0\.5 s"):
            robot.to_pdf("lettre.docx", timeout=0.5)
        robot.close()

    def test_a_conversion_that_produces_nothing_is_an_application_error(
        self, tmp_path: Path, artifacts: list[tuple[Path, str, str]]
    ) -> None:
        docx.Document().save(str(tmp_path / "lettre.docx"))
        program = fake_soffice(tmp_path, "echo 'Error: source file could not be loaded' >&2")
        robot = Word(make_context(tmp_path, artifacts, word={"soffice": str(program)}))
        with pytest.raises(ApplicationError, match=r"did not convert lettre\.docx to PDF") as caught:
            robot.to_pdf("lettre.docx")
        assert caught.value.cause == ("Error: source file could not be loaded",)
        assert not (tmp_path / "lettre.pdf").exists()
        robot.close()

    @pytest.mark.slow
    @pytest.mark.skipif(
        shutil.which("soffice") is None, reason=f"LibreOffice is not installed ({LIBREOFFICE_PACKAGE})"
    )
    def test_converts_a_rendered_letter_with_libreoffice(self, word: Word, tmp_path: Path) -> None:
        from robots.pdf import Pdf

        template = make_template(tmp_path / "modele.docx")
        letter = word.render_template(str(template), "lettre.docx", VALUES)
        written = word.to_pdf(letter, output="pdf/lettre.pdf")
        assert word.to_pdf(letter) == str(
            (tmp_path / "lettre.pdf").resolve()
        )  # the robot's profile is reused
        assert written == str((tmp_path / "pdf" / "lettre.pdf").resolve())
        assert Path(written).read_bytes().startswith(b"%PDF-")
        text = Pdf(word.context).read_text(written)
        assert "Éloïse Lefèvre-Dœuf" in text
        assert "Avis d'imposition « 2025 »" in text
