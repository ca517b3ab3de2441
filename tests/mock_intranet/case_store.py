"""Cases ("dossiers") and the metadata of their documents, stored in SQLite."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .case_form import CaseInput, format_montant
from .database import Database


@dataclass(frozen=True)
class DocumentRecord:
    """A document attached to a case."""

    id: str
    numero_dossier: str
    nom_fichier: str
    type_contenu: str
    taille: int
    sha256: str
    televerse_le: datetime
    televerse_par: str

    def to_json(self) -> dict[str, Any]:
        """The document as the test API returns it."""
        return {
            "id": self.id,
            "nom_fichier": self.nom_fichier,
            "type_contenu": self.type_contenu,
            "taille": self.taille,
            "sha256": self.sha256,
            "televerse_le": self.televerse_le.isoformat(timespec="seconds"),
            "televerse_par": self.televerse_par,
        }


@dataclass(frozen=True)
class CaseRecord:
    """A stored case, with its number and who created it when."""

    numero: str
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
    cree_le: datetime
    cree_par: str

    def to_json(self, documents: list[DocumentRecord]) -> dict[str, Any]:
        """Every field, as the test API returns it (amount as an exact decimal string)."""
        return {
            "numero": self.numero,
            "nom": self.nom,
            "prenom": self.prenom,
            "siret": self.siret,
            "adresse": self.adresse,
            "code_postal": self.code_postal,
            "ville": self.ville,
            "courriel": self.courriel,
            "montant": format_montant(self.montant_centimes),
            "type_demande": self.type_demande,
            "priorite": self.priorite,
            "pieces_fournies": self.pieces_fournies,
            "date_demande": self.date_demande.isoformat(),
            "reference_externe": self.reference_externe,
            "observations": self.observations,
            "cree_le": self.cree_le.isoformat(timespec="seconds"),
            "cree_par": self.cree_par,
            "documents": [document.to_json() for document in documents],
        }


@dataclass(frozen=True)
class CasePage:
    """One page of a case search."""

    cases: list[CaseRecord]
    total: int
    page: int
    page_count: int


def format_case_number(year: int, sequence: int) -> str:
    """ "DOS-2026-000123"."""
    return f"DOS-{year}-{sequence:06d}"


def _case_from_row(row: sqlite3.Row) -> CaseRecord:
    return CaseRecord(
        numero=row["numero"],
        nom=row["nom"],
        prenom=row["prenom"],
        siret=row["siret"],
        adresse=row["adresse"],
        code_postal=row["code_postal"],
        ville=row["ville"],
        courriel=row["courriel"],
        montant_centimes=row["montant_centimes"],
        type_demande=row["type_demande"],
        priorite=row["priorite"],
        pieces_fournies=bool(row["pieces_fournies"]),
        date_demande=date.fromisoformat(row["date_demande"]),
        reference_externe=row["reference_externe"],
        observations=row["observations"],
        cree_le=datetime.fromisoformat(row["cree_le"]),
        cree_par=row["cree_par"],
    )


def _document_from_row(row: sqlite3.Row) -> DocumentRecord:
    return DocumentRecord(
        id=row["id"],
        numero_dossier=row["numero_dossier"],
        nom_fichier=row["nom_fichier"],
        type_contenu=row["type_contenu"],
        taille=row["taille"],
        sha256=row["sha256"],
        televerse_le=datetime.fromisoformat(row["televerse_le"]),
        televerse_par=row["televerse_par"],
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class CaseStore:
    """Creates, finds and lists cases and their documents' metadata."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def create(self, case: CaseInput, created_by: str, now: datetime | None = None) -> CaseRecord:
        """Store a new case under the next number of the current year (safe under concurrency)."""
        created_at = (now or datetime.now()).replace(microsecond=0)
        year = created_at.year
        with self.database.transaction() as connection:
            # BEGIN IMMEDIATE serialises writers, so two requests never read the same sequence value.
            (sequence,) = connection.execute(
                "INSERT INTO sequences_dossiers (annee, dernier) VALUES (?, 1) "
                "ON CONFLICT (annee) DO UPDATE SET dernier = dernier + 1 RETURNING dernier",
                (year,),
            ).fetchone()
            numero = format_case_number(year, sequence)
            connection.execute(
                "INSERT INTO dossiers (numero, annee, sequence, nom, prenom, siret, adresse, code_postal, ville,"
                " courriel, montant_centimes, type_demande, priorite, pieces_fournies, date_demande,"
                " reference_externe, observations, cree_le, cree_par)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    numero,
                    year,
                    sequence,
                    case.nom,
                    case.prenom,
                    case.siret,
                    case.adresse,
                    case.code_postal,
                    case.ville,
                    case.courriel,
                    case.montant_centimes,
                    case.type_demande,
                    case.priorite,
                    int(case.pieces_fournies),
                    case.date_demande.isoformat(),
                    case.reference_externe,
                    case.observations,
                    created_at.isoformat(),
                    created_by,
                ),
            )
        found = self.get(numero)
        assert found is not None
        return found

    def get(self, numero: str) -> CaseRecord | None:
        """The case with this number, or None."""
        with self.database.connect() as connection:
            row = connection.execute("SELECT * FROM dossiers WHERE numero = ?", (numero,)).fetchone()
        return _case_from_row(row) if row else None

    def search(
        self,
        query: str = "",
        type_demande: str = "",
        priorite: str = "",
        page: int = 1,
        per_page: int = 20,
    ) -> CasePage:
        """Cases matching a name, first name, number or external reference, newest first, one page."""
        conditions: list[str] = []
        parameters: list[Any] = []
        if query:
            pattern = f"%{_escape_like(query)}%"
            conditions.append(
                "(nom LIKE ? ESCAPE '\\' OR prenom LIKE ? ESCAPE '\\' OR numero LIKE ? ESCAPE '\\'"
                " OR reference_externe LIKE ? ESCAPE '\\' OR (prenom || ' ' || nom) LIKE ? ESCAPE '\\')"
            )
            parameters.extend([pattern] * 5)
        if type_demande:
            conditions.append("type_demande = ?")
            parameters.append(type_demande)
        if priorite:
            conditions.append("priorite = ?")
            parameters.append(priorite)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        with self.database.connect() as connection:
            (total,) = connection.execute(f"SELECT COUNT(*) FROM dossiers {where}", parameters).fetchone()
            page_count = max(1, math.ceil(total / per_page))
            page = min(max(1, page), page_count)
            rows = connection.execute(
                f"SELECT * FROM dossiers {where} ORDER BY annee DESC, sequence DESC LIMIT ? OFFSET ?",
                [*parameters, per_page, (page - 1) * per_page],
            ).fetchall()
        return CasePage([_case_from_row(row) for row in rows], total, page, page_count)

    def all(self) -> list[CaseRecord]:
        """Every case, oldest first."""
        with self.database.connect() as connection:
            rows = connection.execute("SELECT * FROM dossiers ORDER BY annee, sequence").fetchall()
        return [_case_from_row(row) for row in rows]

    def add_document(self, document: DocumentRecord) -> None:
        """Record a document's metadata (its bytes are already in the GED)."""
        with self.database.transaction() as connection:
            connection.execute(
                "INSERT INTO documents (id, numero_dossier, nom_fichier, type_contenu, taille, sha256,"
                " televerse_le, televerse_par) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    document.id,
                    document.numero_dossier,
                    document.nom_fichier,
                    document.type_contenu,
                    document.taille,
                    document.sha256,
                    document.televerse_le.isoformat(),
                    document.televerse_par,
                ),
            )

    def documents(self, numero: str | None = None) -> list[DocumentRecord]:
        """Documents of one case (or of all cases), in upload order."""
        with self.database.connect() as connection:
            if numero is None:
                rows = connection.execute("SELECT * FROM documents ORDER BY televerse_le, rowid").fetchall()
            else:
                rows = connection.execute(
                    "SELECT * FROM documents WHERE numero_dossier = ? ORDER BY televerse_le, rowid", (numero,)
                ).fetchall()
        return [_document_from_row(row) for row in rows]

    def document(self, numero: str, document_id: str) -> DocumentRecord | None:
        """One document of a case, or None."""
        with self.database.connect() as connection:
            row = connection.execute(
                "SELECT * FROM documents WHERE numero_dossier = ? AND id = ?", (numero, document_id)
            ).fetchone()
        return _document_from_row(row) if row else None

    def counts(self) -> dict[str, Any]:
        """Number of cases in all, by type and by priority, and number of documents."""
        with self.database.connect() as connection:
            (total,) = connection.execute("SELECT COUNT(*) FROM dossiers").fetchone()
            by_type = dict(
                connection.execute(
                    "SELECT type_demande, COUNT(*) FROM dossiers GROUP BY type_demande"
                ).fetchall()
            )
            by_priority = dict(
                connection.execute("SELECT priorite, COUNT(*) FROM dossiers GROUP BY priorite").fetchall()
            )
            (documents,) = connection.execute("SELECT COUNT(*) FROM documents").fetchone()
        return {"total": total, "par_type": by_type, "par_priorite": by_priority, "documents": documents}

    def clear(self) -> None:
        """Delete every case, document record and number sequence."""
        with self.database.transaction() as connection:
            connection.execute("DELETE FROM documents")
            connection.execute("DELETE FROM dossiers")
            connection.execute("DELETE FROM sequences_dossiers")
