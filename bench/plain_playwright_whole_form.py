"""The limit of filling a whole form at once: a hand-written Playwright script that knows this one form.

python bench/plain_playwright_whole_form.py URL CSV_FILE

One script in the page sets every field of a record (firing the input and change events the page listens to,
as `fill_form` does), a real click submits, the record's number is read. Nothing is checked: no field missing,
no refusal, no page that did not load. What this script reaches is what `fill_form` could reach with no cost of
its own; the bench shows both against the field-by-field script.
"""

from __future__ import annotations

import csv
import sys
import time

from playwright.sync_api import sync_playwright

from bench.plain_playwright_entry import TEXT_FIELDS
from robots.browser import LAUNCH_ARGS, find_browser

FILL = r"""
([texts, kind, priority, ticked]) => {
  const controls = new Map();
  for (const label of document.querySelectorAll('label')) {
    const name = label.textContent.replace(/\u00a0/g, ' ').replace(/[\s*:]+$/, '').trim();
    if (label.control) controls.set(name, label.control);
  }
  const set = (control, value) => {
    control.value = value;
    control.dispatchEvent(new Event('input', {bubbles: true}));
    control.dispatchEvent(new Event('change', {bubbles: true}));
  };
  for (const [name, value] of texts) set(controls.get(name), value);
  set(controls.get('Type de demande'), kind);
  controls.get(priority).click();
  const box = controls.get('Pièces justificatives fournies');
  if (ticked !== box.checked) box.click();
}
"""


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
            texts = [[label, row[label] or ""] for label in TEXT_FIELDS]
            ticked = row["Pièces justificatives fournies"] == "Oui"
            page.evaluate(FILL, [texts, row["Type de demande"], row["Priorité"], ticked])
            page.get_by_role("button", name="Enregistrer").click()
            page.wait_for_load_state("load")
            numbers.append(page.locator("#numero-dossier").inner_text())
        browser.close()
    elapsed = time.perf_counter() - started
    print(f"{len(numbers)} {elapsed:.3f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
