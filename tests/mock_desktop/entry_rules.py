"""What the "Nouveau dossier" window accepts: the checks a legacy client makes before it writes a record."""

from __future__ import annotations

from dataclasses import dataclass

from tests.mock_intranet import TYPES_DEMANDE
from tests.mock_intranet.case_form import parse_montant

# The client's own messages, in French only, as the legacy applications it stands for.
REFERENCE_REQUIRED = "La référence est obligatoire."
NOM_REQUIRED = "Le nom est obligatoire."
MONTANT_INVALID = "Le montant doit être un nombre positif, par exemple 1 250,50."
TYPE_REQUIRED = "Choisissez le type de demande."
DUPLICATE_REFERENCE = "La référence {reference} existe déjà : ce dossier a déjà été enregistré."


class EntryRefused(Exception):
    """The form's values are refused; `field` is the one to correct (its key in `FORM_FIELDS`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class NewCase:
    """A record the form accepted, before it is stored."""

    reference: str
    nom: str
    prenom: str
    commune: str
    montant_centimes: int
    type_demande: str


def check_entry(values: dict[str, str]) -> NewCase:
    """The record these form values make (keys: reference, nom, prenom, commune, montant, type_demande).

    Raises:
        EntryRefused: the first value to correct, in the form's order.
    """
    cleaned = {key: value.strip() for key, value in values.items()}
    if not cleaned.get("reference"):
        raise EntryRefused("reference", REFERENCE_REQUIRED)
    if not cleaned.get("nom"):
        raise EntryRefused("nom", NOM_REQUIRED)
    cents = parse_montant(cleaned.get("montant", ""))
    if cents is None:
        raise EntryRefused("montant", MONTANT_INVALID)
    type_demande = cleaned.get("type_demande", "")
    if type_demande not in TYPES_DEMANDE:
        raise EntryRefused("type_demande", TYPE_REQUIRED)
    return NewCase(
        reference=cleaned["reference"],
        nom=cleaned["nom"],
        prenom=cleaned.get("prenom", ""),
        commune=cleaned.get("commune", ""),
        montant_centimes=cents,
        type_demande=type_demande,
    )
