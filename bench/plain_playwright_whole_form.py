"""The limit of filling a whole form at once: a hand-written Playwright script that knows this one form.

python -m bench.plain_playwright_whole_form URL CSV_FILE   (from the repository root)

One script in the page sets every field of a record (firing the input and change events the page listens to,
as `fill_form` does), a real click submits, the record's number is read. Nothing is checked: no field missing,
no refusal, no page that did not load. What this script reaches is what `fill_form` could reach with no cost of
its own; the bench shows both against the field-by-field script.
"""

from __future__ import annotations

import sys

from playwright.sync_api import Page

from bench.plain_playwright_entry import TEXT_FIELDS, enter_records

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


def fill_whole_form(page: Page, row: dict[str, str]) -> None:
    texts = [[label, row[label] or ""] for label in TEXT_FIELDS]
    ticked = row["Pièces justificatives fournies"] == "Oui"
    page.evaluate(FILL, [texts, row["Type de demande"], row["Priorité"], ticked])


if __name__ == "__main__":
    enter_records(sys.argv[1], sys.argv[2], fill_whole_form)
