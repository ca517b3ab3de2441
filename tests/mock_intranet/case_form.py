"""The "Nouveau dossier" form: its fields, their labels, and the server-side validation rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from .siret import SIRET_LENGTH, is_valid_siret, normalize_siret

TYPES_DEMANDE: tuple[str, ...] = ("Subvention", "Aide à l'emploi", "Formation", "Autre")
PRIORITES: tuple[str, ...] = ("Normale", "Urgente")
MAX_MONTANT_CENTIMES = 10_000_000_00
MAX_OBSERVATIONS_LENGTH = 2000
MAX_TEXT_LENGTH = 200


@dataclass(frozen=True)
class FormField:
    """A field of the form: its `name` attribute, its visible label, whether it is mandatory."""

    name: str
    label: str
    required: bool


CASE_FIELDS: tuple[FormField, ...] = (
    FormField("nom", "Nom du demandeur", True),
    FormField("prenom", "Prénom", True),
    FormField("siret", "SIRET", True),
    FormField("adresse", "Adresse", True),
    FormField("code_postal", "Code postal", True),
    FormField("ville", "Ville", True),
    FormField("courriel", "Courriel", True),
    FormField("montant", "Montant demandé", True),
    FormField("type_demande", "Type de demande", True),
    FormField("priorite", "Priorité", True),
    FormField("pieces_fournies", "Pièces justificatives fournies", False),
    FormField("date_demande", "Date de la demande", True),
    FormField("reference_externe", "Référence externe", False),
    FormField("observations", "Observations", False),
    FormField("piece_jointe", "Pièce jointe", False),
)

# Traps of real pages for a bot that compares names as typed (see the README's "Traps"): these labels end with a
# colon, as a framework writes them, the required-field marker inside; option texts show typographic apostrophes.
COLON_LABELS: frozenset[str] = frozenset({"adresse", "code_postal", "ville"})


def typographic(text: str) -> str:
    """A text as a French page prints it: apostrophes curly (a form's value stays as typed)."""
    return text.replace("'", "\u2019")


# The "changed layout" fault renames these labels, as an application upgrade would.
CHANGED_LAYOUT_LABELS: dict[str, str] = {"nom": "Nom de famille du demandeur"}

REQUIRED_MESSAGE = "Ce champ est obligatoire."
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_POSTAL_CODE = re.compile(r"^[0-9]{5}$")
_FRENCH_DATE = re.compile(r"^([0-9]{2})/([0-9]{2})/([0-9]{4})$")


def field_labels(changed_layout: bool = False) -> dict[str, str]:
    """Visible label of every field, by `name`."""
    labels = {field.name: field.label for field in CASE_FIELDS}
    if changed_layout:
        labels.update(CHANGED_LAYOUT_LABELS)
    return labels


@dataclass(frozen=True)
class CaseInput:
    """The validated content of a "Nouveau dossier" form."""

    nom: str
    prenom: str
    siret: str
    adresse: str
    code_postal: str
    ville: str
    courriel: str
    montant_centimes: int
    type_demande: str
    priorite: str
    pieces_fournies: bool
    date_demande: date
    reference_externe: str
    observations: str


def parse_montant(text: str) -> int | None:
    """Amount in cents from "1 234,56", "1234.56" or "1234 €"; None when not a positive amount."""
    cleaned = re.sub(r"[\s\u00a0\u202f€]", "", text).replace(",", ".")
    if not re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", cleaned):
        return None
    try:
        cents = int(Decimal(cleaned) * 100)
    except InvalidOperation:
        return None
    if cents <= 0 or cents > MAX_MONTANT_CENTIMES:
        return None
    return cents


def format_montant(cents: int) -> str:
    """ "1234.56" from 123456: the exact decimal, as the test API returns it."""
    return f"{cents // 100}.{cents % 100:02d}"


def format_montant_fr(cents: int) -> str:
    """ "1 234,56 €" from 123456, as the pages show it."""
    euros = f"{cents // 100:,}".replace(",", "\u202f")
    return f"{euros},{cents % 100:02d} €"


def parse_date(text: str) -> date | None:
    """A date from ISO "2026-01-31" (what `<input type=date>` sends) or French "31/01/2026"."""
    try:
        french = _FRENCH_DATE.match(text)
        if french:
            day, month, year = (int(part) for part in french.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        return None


def validate_case_form(values: Mapping[str, str], today: date) -> tuple[CaseInput | None, dict[str, str]]:
    """Check a submitted form; return the case, or None and an error message per field name."""
    text = {field.name: values.get(field.name, "").strip() for field in CASE_FIELDS}
    errors: dict[str, str] = {}
    for field in CASE_FIELDS:
        if field.required and not text[field.name]:
            errors[field.name] = REQUIRED_MESSAGE
        elif len(text[field.name]) > MAX_TEXT_LENGTH and field.name != "observations":
            errors[field.name] = f"{MAX_TEXT_LENGTH} caractères au maximum."

    siret = normalize_siret(text["siret"])
    if "siret" not in errors:
        if len(siret) != SIRET_LENGTH or not (siret.isascii() and siret.isdigit()):
            errors["siret"] = "Le SIRET doit comporter 14 chiffres."
        elif not is_valid_siret(siret):
            errors["siret"] = "Le SIRET est invalide (clé de contrôle incorrecte)."

    if "code_postal" not in errors and not _POSTAL_CODE.match(text["code_postal"]):
        errors["code_postal"] = "Le code postal doit comporter 5 chiffres."

    if "courriel" not in errors and not _EMAIL.match(text["courriel"]):
        errors["courriel"] = "L'adresse de courriel est invalide."

    montant = parse_montant(text["montant"]) if "montant" not in errors else None
    if "montant" not in errors and montant is None:
        errors["montant"] = "Le montant doit être un nombre positif d'au plus 10 000 000 € (ex. 1 234,56)."

    if "type_demande" not in errors and text["type_demande"] not in TYPES_DEMANDE:
        errors["type_demande"] = "Type de demande inconnu."

    if "priorite" not in errors and text["priorite"] not in PRIORITES:
        errors["priorite"] = "Priorité inconnue."

    date_demande = parse_date(text["date_demande"]) if "date_demande" not in errors else None
    if "date_demande" not in errors:
        if date_demande is None:
            errors["date_demande"] = "La date est invalide (format attendu : JJ/MM/AAAA)."
        elif date_demande > today:
            errors["date_demande"] = "La date de la demande ne peut pas être dans le futur."

    if len(text["observations"]) > MAX_OBSERVATIONS_LENGTH:
        errors["observations"] = f"{MAX_OBSERVATIONS_LENGTH} caractères au maximum."

    if errors or montant is None or date_demande is None:
        in_form_order = {field.name: errors[field.name] for field in CASE_FIELDS if field.name in errors}
        return None, in_form_order
    return (
        CaseInput(
            nom=text["nom"],
            prenom=text["prenom"],
            siret=siret,
            adresse=text["adresse"],
            code_postal=text["code_postal"],
            ville=text["ville"],
            courriel=text["courriel"],
            montant_centimes=montant,
            type_demande=text["type_demande"],
            priorite=text["priorite"],
            pieces_fournies=text["pieces_fournies"] != "",
            date_demande=date_demande,
            reference_externe=text["reference_externe"],
            observations=text["observations"],
        ),
        {},
    )
