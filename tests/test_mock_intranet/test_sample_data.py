"""Sample data: reproducible rows, deliberate errors, and the files the workflows read."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pytest
from docx import Document
from docxtpl import DocxTemplate
from openpyxl import load_workbook

from tests.mock_intranet.case_form import validate_case_form
from tests.mock_intranet.http_agent import IntranetAgent
from tests.mock_intranet.sample_data import (
    COLUMN_FIELDS,
    COLUMNS,
    INVALID_FIELDS,
    LETTER_PLACEHOLDERS,
    generate_cases,
    write_sample_data,
)
from tests.mock_intranet.siret import is_valid_siret

REFERENCE_DATE = date(2026, 1, 15)
WORKFLOW_DATA = Path(__file__).resolve().parents[2] / "workflows" / "data"


class TestGeneratedRows:
    def test_same_seed_same_rows_other_seed_other_rows(self) -> None:
        first = generate_cases(10, 0.3, seed=7, reference_date=REFERENCE_DATE)
        assert first == generate_cases(10, 0.3, seed=7, reference_date=REFERENCE_DATE)
        assert first != generate_cases(10, 0.3, seed=8, reference_date=REFERENCE_DATE)

    def test_invalid_ratio_and_every_kind_of_error(self) -> None:
        cases = generate_cases(48, 0.25, seed=3, reference_date=REFERENCE_DATE)
        invalid = [case for case in cases if not case.valid]
        assert len(invalid) == 12
        assert {case.invalid_field for case in invalid} == set(INVALID_FIELDS)

    def test_valid_rows_pass_and_invalid_rows_fail_on_their_field(self) -> None:
        for case in generate_cases(60, 0.5, seed=5, reference_date=REFERENCE_DATE):
            accepted, errors = validate_case_form(case.form_values(), REFERENCE_DATE)
            if case.valid:
                assert accepted is not None, (case, errors)
                assert is_valid_siret(case.siret)
                assert case.date_demande < REFERENCE_DATE
            else:
                assert list(errors) == [case.invalid_field], case

    def test_values_look_french(self) -> None:
        case = generate_cases(1, seed=1, reference_date=REFERENCE_DATE)[0]
        assert len(case.code_postal) == 5 and case.code_postal.isdigit()
        assert case.courriel.isascii() and "@" in case.courriel
        assert case.form_values()["montant"].count(",") == 1

    @pytest.mark.parametrize(("count", "ratio"), [(-1, 0.0), (3, 1.5)])
    def test_bad_arguments(self, count: int, ratio: float) -> None:
        with pytest.raises(ValueError, match="invalid_ratio"):
            generate_cases(count, ratio)


class TestFiles:
    def test_xlsx_csv_and_letter(self, tmp_path: Path) -> None:
        files = write_sample_data(tmp_path, rows=5, invalid_ratio=0.2, seed=9, reference_date=REFERENCE_DATE)
        assert len(files.cases) == 5

        workbook = load_workbook(files.xlsx)
        sheet = workbook.active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        workbook.close()
        assert rows[0] == COLUMNS
        assert len(rows) == 6
        first = dict(zip(COLUMNS, rows[1], strict=True))
        assert first["Nom du demandeur"] == files.cases[0].nom
        assert isinstance(first["Code postal"], str)
        assert isinstance(first["SIRET"], str)
        assert isinstance(first["Montant demandé"], float)
        assert isinstance(first["Date de la demande"], datetime)

        with files.csv.open(encoding="utf-8", newline="") as handle:
            csv_rows = list(csv.DictReader(handle, delimiter=";"))
        assert list(csv_rows[0]) == list(COLUMNS)
        assert [row["SIRET"] for row in csv_rows] == [case.siret for case in files.cases]
        assert csv_rows[0]["Date de la demande"] == files.cases[0].date_demande.isoformat()

        template = DocxTemplate(str(files.letter_template))
        assert template.get_undeclared_template_variables() == set(LETTER_PLACEHOLDERS)
        template.render(dict.fromkeys(LETTER_PLACEHOLDERS, "VALEUR") | {"nom": "Lefèvre"})
        output = tmp_path / "lettre.docx"
        template.save(str(output))
        text = "\n".join(paragraph.text for paragraph in Document(str(output)).paragraphs)
        assert "Madame, Monsieur Lefèvre," in text
        assert "{{" not in text

    def test_committed_workflow_inputs_hold_twenty_valid_cases(self) -> None:
        workbook = load_workbook(WORKFLOW_DATA / "dossiers.xlsx")
        sheet = workbook.active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        workbook.close()
        assert rows[0] == COLUMNS
        assert len(rows) == 21
        for row in rows[1:]:
            values = dict(zip(COLUMN_FIELDS, row, strict=True))
            form = {name: "" if value is None else str(value) for name, value in values.items()}
            form["date_demande"] = values["date_demande"].date().isoformat()
            form["pieces_fournies"] = "oui" if values["pieces_fournies"] == "Oui" else ""
            case, errors = validate_case_form(form, date.today())
            assert case is not None, errors
        assert (WORKFLOW_DATA / "dossiers.csv").read_text(encoding="utf-8").count("\n") == 21
        assert (WORKFLOW_DATA / "courrier_accuse_reception.docx").exists()
        assert (WORKFLOW_DATA / "dossiers_avec_erreurs.xlsx").exists()


class TestThroughTheForm:
    def test_generated_rows_are_accepted_or_refused_by_the_intranet(
        self, intranet_agent: IntranetAgent
    ) -> None:
        for case in generate_cases(8, 0.5, seed=2):
            submission = intranet_agent.submit_case(case.form_values())
            if case.valid:
                assert submission.numero, submission.errors
            else:
                assert submission.numero is None
                assert list(submission.errors) == [case.invalid_field]
