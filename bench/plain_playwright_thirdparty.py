"""The reference: a hand-written plain Playwright script entering the records into the Django admin site.

python -m bench.plain_playwright_thirdparty URL CSV_FILE USERNAME PASSWORD   (from the repository root)
Written the way a developer would after reading the page: its exact labels (typographic apostrophe, " :").
"""

from __future__ import annotations

import csv
import sys
import time

from playwright.sync_api import sync_playwright

from bench.plain_playwright_entry import open_page

TEXT_FIELDS = {
    "Référence externe": "Référence externe\u00a0:",
    "Demandeur": "Demandeur\u00a0:",
    "Nom d'usage": "Nom d’usage\u00a0:",
    "Date de dépôt": "Date de dépôt\u00a0:",
    "Commentaire": "Commentaire\u00a0:",
}


def main(url: str, csv_path: str, username: str, password: str) -> None:
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    started = time.perf_counter()
    with sync_playwright() as playwright:
        browser, page = open_page(playwright)
        page.goto(f"{url}/admin/login/")
        page.get_by_label("Nom d’utilisateur\u00a0:").fill(username)
        page.get_by_label("Mot de passe\u00a0:").fill(password)
        page.get_by_role("button", name="Connexion").click()
        page.wait_for_load_state("load")
        for row in rows:
            page.goto(f"{url}/admin/dossiers/dossier/add/")
            for column, label in TEXT_FIELDS.items():
                page.get_by_label(label, exact=True).fill(row[column] or "")
            page.get_by_label("Service\u00a0:", exact=True).select_option(label=row["Service"])
            if row["Urgent"] == "Oui":
                page.get_by_label("Urgent", exact=True).check()
            page.get_by_role("button", name="Enregistrer", exact=True).click()
            page.wait_for_load_state("load")
            if "/add/" in page.url:
                raise RuntimeError(f"{row['Référence externe']} was refused")
        browser.close()
    elapsed = time.perf_counter() - started
    print(f"{len(rows)} {elapsed:.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
