"""The documents robot: read what documents say and extract the values they hold (references, SIRET, IBAN…)."""

from robots.documents.documents import Documents

__all__ = [
    "Documents",
]
