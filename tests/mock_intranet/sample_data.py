"""Realistic, reproducible sample cases, and the input files the example workflows read.

French names and addresses come from Faker (fr_FR) seeded, so the same seed and reference date give the same
rows. Some rows can be made invalid on purpose (one field each) to exercise business errors.

    python -m tests.mock_intranet sample-data --out workflows/data
"""

from __future__ import annotations

import csv
import random
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from faker import Faker

from .case_form import PRIORITES, TYPES_DEMANDE, field_labels
from .siret import luhn_check_digit

DEFAULT_SEED = 2026
_LABELS = field_labels()
# Columns of the spreadsheet and CSV: the form's labels, in the order of the form.
COLUMN_FIELDS: tuple[str, ...] = (
    "reference_externe",
    "nom",
    "prenom",
    "siret",
    "adresse",
    "code_postal",
    "ville",
    "courriel",
    "montant",
    "type_demande",
    "priorite",
    "pieces_fournies",
    "date_demande",
    "observations",
)
COLUMNS: tuple[str, ...] = tuple(_LABELS[name] for name in COLUMN_FIELDS)
INVALID_FIELDS: tuple[str, ...] = ("siret", "code_postal", "courriel", "date_demande", "montant", "nom")
LETTER_PLACEHOLDERS: tuple[str, ...] = (
    "numero_dossier",
    "nom",
    "prenom",
    "adresse",
    "code_postal",
    "ville",
    "type_demande",
    "montant",
    "date_demande",
    "date_courrier",
)


@dataclass(frozen=True)
class SampleCase:
    """One generated case; `invalid_field` names the field made invalid on purpose (None when valid)."""

    reference_externe: str
    nom: str
    prenom: str
    siret: str
    adresse: str
    code_postal: str
    ville: str
    courriel: str
    montant: Decimal
    type_demande: str
    priorite: str
    pieces_fournies: bool
    date_demande: date
    observations: str
    invalid_field: str | None = None

    @property
    def valid(self) -> bool:
        """True when the intranet should accept this case."""
        return self.invalid_field is None

    def form_values(self) -> dict[str, str]:
        """The values as typed into the form, by the fields' `name` attribute."""
        return {
            "reference_externe": self.reference_externe,
            "nom": self.nom,
            "prenom": self.prenom,
            "siret": self.siret,
            "adresse": self.adresse,
            "code_postal": self.code_postal,
            "ville": self.ville,
            "courriel": self.courriel,
            "montant": french_decimal(self.montant),
            "type_demande": self.type_demande,
            "priorite": self.priorite,
            "pieces_fournies": "oui" if self.pieces_fournies else "",
            "date_demande": self.date_demande.isoformat(),
            "observations": self.observations,
        }

    def spreadsheet_row(self) -> dict[str, Any]:
        """Typed cell values by column label (amount as a number, date as a date)."""
        values: dict[str, Any] = {
            "reference_externe": self.reference_externe,
            "nom": self.nom,
            "prenom": self.prenom,
            "siret": self.siret,
            "adresse": self.adresse,
            "code_postal": self.code_postal,
            "ville": self.ville,
            "courriel": self.courriel,
            "montant": float(self.montant),
            "type_demande": self.type_demande,
            "priorite": self.priorite,
            "pieces_fournies": "Oui" if self.pieces_fournies else "Non",
            "date_demande": self.date_demande,
            "observations": self.observations,
        }
        return {_LABELS[name]: values[name] for name in COLUMN_FIELDS}

    def csv_row(self) -> dict[str, str]:
        """Text cell values by column label (amount with a decimal comma, ISO date)."""
        row = self.spreadsheet_row()
        row[_LABELS["montant"]] = french_decimal(self.montant)
        row[_LABELS["date_demande"]] = self.date_demande.isoformat()
        return row


@dataclass(frozen=True)
class SampleDataFiles:
    """Files written by `write_sample_data` and the rows they hold."""

    xlsx: Path
    csv: Path
    letter_template: Path
    cases: list[SampleCase]


def french_decimal(amount: Decimal) -> str:
    """ "1234,56"."""
    return f"{amount:.2f}".replace(".", ",")


def make_siret(rng: random.Random, valid: bool = True) -> str:
    """14 digits: a Luhn-valid SIREN, a NIC, and a last digit that makes the whole valid (or not)."""
    siren_body = "".join(rng.choice("0123456789") for _ in range(8))
    siren = siren_body + luhn_check_digit(siren_body)
    body = siren + "".join(rng.choice("0123456789") for _ in range(4))
    check = luhn_check_digit(body)
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    return body + check


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in folded.lower() if char.isalnum() or char == "-")


def _make_invalid(case: dict[str, Any], field: str, rng: random.Random, reference_date: date) -> None:
    if field == "siret":
        case["siret"] = make_siret(rng, valid=False)
    elif field == "code_postal":
        case["code_postal"] = case["code_postal"][:4]
    elif field == "courriel":
        case["courriel"] = case["courriel"].replace("@", ".")
    elif field == "date_demande":
        # Years ahead, so that files generated today still hold a future date for a long while.
        case["date_demande"] = reference_date.replace(year=reference_date.year + 5, day=1)
    elif field == "montant":
        case["montant"] = -case["montant"]
    elif field == "nom":
        case["nom"] = ""


def generate_cases(
    count: int,
    invalid_ratio: float = 0.0,
    *,
    seed: int = DEFAULT_SEED,
    reference_date: date | None = None,
) -> list[SampleCase]:
    """`count` cases, of which round(count * invalid_ratio) have one invalid field (cycling through kinds).

    Args:
        count: Number of cases.
        invalid_ratio: Share of invalid cases, 0 to 1.
        seed: Seed of Faker and of the random draws.
        reference_date: "Today" for the dates of the requests (all before it); defaults to today.
    """
    if count < 0 or not 0 <= invalid_ratio <= 1:
        raise ValueError("count must be >= 0 and invalid_ratio between 0 and 1")
    today = reference_date or date.today()
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    invalid_rows = sorted(rng.sample(range(count), round(count * invalid_ratio)))
    invalid_kind = {
        row: INVALID_FIELDS[index % len(INVALID_FIELDS)] for index, row in enumerate(invalid_rows)
    }
    cases = []
    for row in range(count):
        prenom, nom = fake.first_name(), fake.last_name()
        case: dict[str, Any] = {
            "reference_externe": f"REF-{today.year}-{row + 1:04d}",
            "nom": nom,
            "prenom": prenom,
            "siret": make_siret(rng),
            "adresse": fake.street_address(),
            "code_postal": fake.postcode(),
            "ville": fake.city(),
            "courriel": f"{_ascii(prenom)}.{_ascii(nom)}@{fake.free_email_domain()}",
            "montant": Decimal(rng.randrange(50_000, 15_000_000)) / 100,
            "type_demande": rng.choice(TYPES_DEMANDE),
            "priorite": PRIORITES[1] if rng.random() < 0.25 else PRIORITES[0],
            "pieces_fournies": rng.random() < 0.7,
            "date_demande": today - timedelta(days=rng.randint(1, 365)),
            "observations": fake.sentence(nb_words=10) if rng.random() < 0.4 else "",
        }
        if row in invalid_kind:
            _make_invalid(case, invalid_kind[row], rng, today)
        cases.append(SampleCase(**case, invalid_field=invalid_kind.get(row)))
    return cases


def write_xlsx(cases: Iterable[SampleCase], path: Path, sheet_title: str = "Dossiers") -> Path:
    """A workbook with a header row of the form's labels and one typed row per case."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = sheet_title
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="000091")
    for case in cases:
        sheet.append(list(case.spreadsheet_row().values()))
    montant_column = COLUMNS.index(_LABELS["montant"]) + 1
    date_column = COLUMNS.index(_LABELS["date_demande"]) + 1
    text_columns = {COLUMNS.index(_LABELS[name]) + 1 for name in ("siret", "code_postal")}
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            column = cell.column
            if column == montant_column:
                cell.number_format = "#,##0.00"
            elif column == date_column:
                cell.number_format = "DD/MM/YYYY"
            elif column in text_columns:
                cell.number_format = "@"
    for index, label in enumerate(COLUMNS, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(14, len(label) + 4)
    sheet.freeze_panes = "A2"
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    workbook.close()
    return path


def write_csv(cases: Iterable[SampleCase], path: Path) -> Path:
    """A UTF-8 CSV separated by semicolons (as French spreadsheets export), same columns as the workbook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(COLUMNS), delimiter=";")
        writer.writeheader()
        writer.writerows(case.csv_row() for case in cases)
    return path


def write_letter_template(path: Path) -> Path:
    """An acknowledgement letter (.docx) with docxtpl placeholders such as {{ nom }} and {{ numero_dossier }}."""
    from docx import Document
    from docx.enum.text import WD_PARAGRAPH_ALIGNMENT
    from docx.shared import Pt

    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(11)

    def paragraph(text: str, bold: bool = False, align_right: bool = False) -> None:
        # One run per paragraph: docxtpl only sees a placeholder that Word has not split across runs.
        added = document.add_paragraph()
        run = added.add_run(text)
        run.bold = bold
        if align_right:
            added.alignment = WD_PARAGRAPH_ALIGNMENT.RIGHT

    paragraph("Direction des aides aux entreprises", bold=True)
    paragraph("Service instructeur — Portail des agents")
    paragraph("{{ prenom }} {{ nom }}", align_right=True)
    paragraph("{{ adresse }}", align_right=True)
    paragraph("{{ code_postal }} {{ ville }}", align_right=True)
    paragraph("Le {{ date_courrier }}", align_right=True)
    paragraph("Objet : accusé de réception de votre demande n° {{ numero_dossier }}", bold=True)
    paragraph("Madame, Monsieur {{ nom }},")
    paragraph(
        "Nous avons bien reçu votre demande de type « {{ type_demande }} » du {{ date_demande }}, "
        "pour un montant de {{ montant }} €. Elle est enregistrée sous le numéro {{ numero_dossier }}, "
        "à rappeler dans toute correspondance."
    )
    paragraph("Votre dossier sera instruit dans un délai de deux mois à compter de ce jour.")
    paragraph("Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées.")
    paragraph("Le chef du service instructeur", align_right=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def write_sample_data(
    out_dir: Path,
    rows: int = 20,
    invalid_ratio: float = 0.0,
    *,
    seed: int = DEFAULT_SEED,
    reference_date: date | None = None,
    basename: str = "dossiers",
) -> SampleDataFiles:
    """Write `<basename>.xlsx`, `<basename>.csv` and the letter template into `out_dir`; return them and the rows."""
    cases = generate_cases(rows, invalid_ratio, seed=seed, reference_date=reference_date)
    return SampleDataFiles(
        xlsx=write_xlsx(cases, out_dir / f"{basename}.xlsx"),
        csv=write_csv(cases, out_dir / f"{basename}.csv"),
        letter_template=write_letter_template(out_dir / "courrier_accuse_reception.docx"),
        cases=cases,
    )


def write_example_inputs(out_dir: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """The committed inputs of the example workflows: 20 valid cases, and 10 cases of which 3 are invalid."""
    valid = write_sample_data(out_dir, 20, 0.0, seed=seed)
    mixed_cases: Sequence[SampleCase] = generate_cases(10, 0.3, seed=seed + 1)
    mixed = write_xlsx(mixed_cases, out_dir / "dossiers_avec_erreurs.xlsx")
    return [valid.xlsx, valid.csv, valid.letter_template, mixed]
