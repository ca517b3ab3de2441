"""The legacy client's database: one SQLite file, one table of records, the reference unique."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .entry_rules import DUPLICATE_REFERENCE, EntryRefused, NewCase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dossiers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    nom TEXT NOT NULL,
    prenom TEXT NOT NULL,
    commune TEXT NOT NULL,
    montant_centimes INTEGER NOT NULL,
    type_demande TEXT NOT NULL,
    agent TEXT NOT NULL,
    enregistre_le TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class StoredCase:
    """A record as the database holds it."""

    numero: str
    reference: str
    nom: str
    prenom: str
    commune: str
    montant_centimes: int
    type_demande: str
    agent: str


def case_number(row_id: int) -> str:
    """The number the client shows for a record: "DOS-000001"."""
    return f"DOS-{row_id:06d}"


class CaseStore:
    """The SQLite file of records; each write is committed at once, so a killed client loses nothing it confirmed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with closing(self._connect()) as connection, connection:
            connection.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def add(self, case: NewCase, agent: str) -> str:
        """Store a record; return its number.

        Raises:
            EntryRefused: a record with this reference exists already.
        """
        try:
            with closing(self._connect()) as connection, connection:
                cursor = connection.execute(
                    "INSERT INTO dossiers (reference, nom, prenom, commune, montant_centimes, type_demande, agent,"
                    " enregistre_le) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        case.reference,
                        case.nom,
                        case.prenom,
                        case.commune,
                        case.montant_centimes,
                        case.type_demande,
                        agent,
                        datetime.now().astimezone().isoformat(timespec="seconds"),
                    ),
                )
                row_id = cursor.lastrowid
        except sqlite3.IntegrityError:
            raise EntryRefused("reference", DUPLICATE_REFERENCE.format(reference=case.reference)) from None
        assert row_id is not None
        return case_number(row_id)

    def find(self, reference: str) -> StoredCase | None:
        """The record with this reference, or None."""
        return next((case for case in read_cases(self.path) if case.reference == reference.strip()), None)


def read_cases(path: Path) -> list[StoredCase]:
    """Every record of a client's database, in the order they were entered (none when the file is absent, or
    created by a client that has not made its table yet: a test polling it as the client starts)."""
    if not path.exists():
        return []
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)) as connection:
        made = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dossiers'")
        if made.fetchone() is None:
            return []
        rows = connection.execute(
            "SELECT id, reference, nom, prenom, commune, montant_centimes, type_demande, agent FROM dossiers"
            " ORDER BY id"
        ).fetchall()
    return [StoredCase(case_number(row[0]), *row[1:]) for row in rows]
