"""The reference: a hand-written plain Playwright script doing the same clicks as the benchmark workflow.

python bench/plain_playwright_entry.py URL CSV_FILE
"""

from __future__ import annotations

import csv
import re
import sys
import time
from collections.abc import Callable

from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from robots.browser import LAUNCH_ARGS, find_browser

TEXT_FIELDS = (
    "Nom du demandeur",
    "Prénom",
    "SIRET",
    "Adresse",
    "Code postal",
    "Ville",
    "Courriel",
    "Montant demandé",
    "Date de la demande",
    "Référence externe",
    "Observations",
)

# The page's labels, some followed by the required marker and " :" ("Adresse *:"), matched whole.
LABELS = {label: re.compile(rf"^{re.escape(label)}\s*\*?\s*:?$") for label in TEXT_FIELDS}


def open_page(playwright: Playwright) -> tuple[Browser, Page]:
    """The browser every variant of the bench launches (the headless shell where installed), and a page in it."""
    browser = playwright.chromium.launch(
        executable_path=str(find_browser(headless=True)), args=list(LAUNCH_ARGS)
    )
    return browser, browser.new_context().new_page()


def log_in(page: Page, url: str) -> None:
    """Into the mock intranet, as the bench's agent."""
    page.goto(f"{url}/connexion")
    page.get_by_label("Identifiant").fill("agent1")
    page.get_by_label("Mot de passe").fill("Motdepasse-1!")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state("load")


def enter_records(url: str, csv_path: str, fill: Callable[[Page, dict[str, str]], None]) -> None:
    """Each record of the CSV file entered as a new case: `fill` fills its form, a click saves it, its number is
    read; prints how many and the seconds taken. The bench's scripts differ only in how they fill the form."""
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    started = time.perf_counter()
    with sync_playwright() as playwright:
        browser, page = open_page(playwright)
        log_in(page, url)
        numbers = []
        for row in rows:
            page.goto(f"{url}/dossiers/nouveau")
            fill(page, row)
            page.get_by_role("button", name="Enregistrer").click()
            page.wait_for_load_state("load")
            numbers.append(page.locator("#numero-dossier").inner_text())
        browser.close()
    elapsed = time.perf_counter() - started
    print(f"{len(numbers)} {elapsed:.3f}")


def fill_field_by_field(page: Page, row: dict[str, str]) -> None:
    for label, pattern in LABELS.items():
        page.get_by_label(pattern).first.fill(row[label] or "")
    page.get_by_label("Type de demande").select_option(value=row["Type de demande"])
    page.get_by_label(row["Priorité"], exact=True).check()
    if row["Pièces justificatives fournies"] == "Oui":
        page.get_by_label("Pièces justificatives fournies").check()


if __name__ == "__main__":
    enter_records(sys.argv[1], sys.argv[2], fill_field_by_field)
