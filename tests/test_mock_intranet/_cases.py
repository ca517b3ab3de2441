"""Form values shared by the mock intranet tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

VALID_CASE: dict[str, str] = {
    "nom": "Lefèvre",
    "prenom": "Élodie",
    "siret": "732 829 320 00074",
    "adresse": "12 rue des Lilas",
    "code_postal": "69003",
    "ville": "Lyon",
    "courriel": "elodie.lefevre@example.fr",
    "montant": "12 500,50",
    "type_demande": "Aide à l'emploi",
    "priorite": "Urgente",
    "pieces_fournies": "oui",
    "date_demande": "2025-02-14",
    "reference_externe": "REF-TEST-1",
    "observations": "Première demande.\nDeuxième ligne <b>non interprétée</b>.",
}

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 5.0, interval: float = 0.02) -> T:
    """Poll `condition` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition still false after {timeout} s")
        time.sleep(interval)
