"""The reference: a hand-written plain Playwright script doing the same clicks as the benchmark workflow.

python bench/plain_playwright_entry.py URL CSV_FILE
"""

from __future__ import annotations

import csv
import re
import sys
import time

from playwright.sync_api import sync_playwright

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


def main(url: str, csv_path: str) -> None:
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    started = time.perf_counter()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(find_browser(headless=True)), args=list(LAUNCH_ARGS)
        )
        page = browser.new_context().new_page()
        page.goto(f"{url}/connexion")
        page.get_by_label("Identifiant").fill("agent1")
        page.get_by_label("Mot de passe").fill("Motdepasse-1!")
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_load_state("load")
        numbers = []
        for row in rows:
            page.goto(f"{url}/dossiers/nouveau")
            for label, pattern in LABELS.items():
                page.get_by_label(pattern).first.fill(row[label] or "")
            page.get_by_label("Type de demande").select_option(value=row["Type de demande"])
            page.get_by_label(row["Priorité"], exact=True).check()
            if row["Pièces justificatives fournies"] == "Oui":
                page.get_by_label("Pièces justificatives fournies").check()
            page.get_by_role("button", name="Enregistrer").click()
            page.wait_for_load_state("load")
            numbers.append(page.locator("#numero-dossier").inner_text())
        browser.close()
    elapsed = time.perf_counter() - started
    print(f"{len(numbers)} {elapsed:.3f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
