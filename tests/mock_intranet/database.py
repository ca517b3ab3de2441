"""The SQLite file of the mock intranet: schema, and short-lived connections.

Each operation opens its own connection and closes it, so requests served concurrently (several browser
contexts, threads of the test suite) never share one; WAL mode lets readers proceed while one writer commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 15.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dossiers (
    numero TEXT PRIMARY KEY,
    annee INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    nom TEXT NOT NULL,
    prenom TEXT NOT NULL,
    siret TEXT NOT NULL,
    adresse TEXT NOT NULL,
    code_postal TEXT NOT NULL,
    ville TEXT NOT NULL,
    courriel TEXT NOT NULL,
    montant_centimes INTEGER NOT NULL,
    type_demande TEXT NOT NULL,
    priorite TEXT NOT NULL,
    pieces_fournies INTEGER NOT NULL,
    date_demande TEXT NOT NULL,
    reference_externe TEXT NOT NULL,
    observations TEXT NOT NULL,
    cree_le TEXT NOT NULL,
    cree_par TEXT NOT NULL,
    UNIQUE (annee, sequence)
);
CREATE TABLE IF NOT EXISTS sequences_dossiers (
    annee INTEGER PRIMARY KEY,
    dernier INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    numero_dossier TEXT NOT NULL REFERENCES dossiers (numero) ON DELETE CASCADE,
    nom_fichier TEXT NOT NULL,
    type_contenu TEXT NOT NULL,
    taille INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    televerse_le TEXT NOT NULL,
    televerse_par TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_par_dossier ON documents (numero_dossier);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    identifiant TEXT,
    jeton_csrf TEXT NOT NULL,
    cree_le REAL NOT NULL
);
"""


class Database:
    """The SQLite file holding cases, document metadata and web sessions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode, closed on exit."""
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA foreign_keys=ON")
            # In WAL mode NORMAL loses nothing when the process stops or crashes (only on power loss),
            # and spares an fsync per commit, which made every request tens of milliseconds slower.
            connection.execute("PRAGMA synchronous=NORMAL")
            yield connection
        finally:
            connection.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside a write transaction, taken at once so concurrent writers queue up."""
        with self.connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
