"""How a workflow names an element on a page (`Target`), and what the page offers when the name is wrong."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, ClassVar

from robots.base import FlatParameters

TARGET_KINDS = ("label", "text", "role", "placeholder", "title", "test_id", "css", "xpath")


@dataclass(frozen=True)
class Target(FlatParameters):
    """How to find an element: give exactly one of label, text, role, placeholder, title, test_id, css, xpath.

    Args:
        label: Visible label of a field, e.g. "Nom du demandeur".
        text: Visible text of the element, e.g. "Enregistrer".
        role: ARIA role, optionally with the accessible name after a colon, e.g. "button:Enregistrer".
        name: Accessible name that goes with `role`, e.g. "Enregistrer".
        placeholder: Placeholder text shown in an empty field, e.g. "14 chiffres".
        title: The element's title (tooltip) text.
        test_id: The element's data-testid attribute.
        css: A CSS selector, as a last resort, e.g. "#numero-dossier".
        xpath: An XPath expression, as a very last resort.
        nth: Which match to take when several elements match (0 for the first, -1 for the last).
        within: A CSS selector of a container to search in, e.g. "form.formulaire-dossier".
        exact: Match the label, text or name exactly (case and whole string) instead of as a part.
    """

    label: str | None = None
    text: str | None = None
    role: str | None = None
    name: str | None = None
    placeholder: str | None = None
    title: str | None = None
    test_id: str | None = None
    css: str | None = None
    xpath: str | None = None
    nth: int | None = None
    within: str | None = None
    exact: bool = False

    choose_one: ClassVar[tuple[str, ...]] = TARGET_KINDS

    @property
    def kind(self) -> str:
        for kind in TARGET_KINDS:
            if getattr(self, kind) is not None:
                return kind
        return "css"

    @property
    def value(self) -> str:
        return str(getattr(self, self.kind))

    def describe(self) -> str:
        """Say in words what is looked for, e.g. "the field labelled 'Nom'"."""
        kind, value = self.kind, self.value
        if kind == "label":
            text = f"the field labelled '{value}'"
        elif kind == "text":
            text = f"the element with the text '{value}'"
        elif kind == "role":
            role, name = self.role_and_name()
            text = f"the {role} '{name}'" if name else f"the {role}"
        else:
            text = f"the element with {kind.replace('_', ' ')} '{value}'"
        if self.nth is not None:
            text += f" (match number {self.nth})"
        if self.within:
            text += f" inside '{self.within}'"
        return text

    def role_and_name(self) -> tuple[str, str | None]:
        role = self.role or ""
        if ":" in role and self.name is None:
            role, _, name = role.partition(":")
            return role.strip(), name.strip()
        return role.strip(), self.name

    def locate(self, scope: Any) -> Any:
        """A Playwright locator for the one element this target names (the first match, or match `nth`)."""
        locator = self.locate_all(scope)
        return locator.nth(self.nth) if self.nth is not None else locator.first

    def locate_all(self, scope: Any) -> Any:
        """A Playwright locator for every element this target matches, within a page, frame or frame locator."""
        if self.within:
            scope = scope.locator(self.within).first
        kind, value = self.kind, self.value
        if kind == "label":
            locator = scope.get_by_label(value, exact=self.exact)
        elif kind == "text":
            locator = scope.get_by_text(value, exact=self.exact)
        elif kind == "role":
            role, name = self.role_and_name()
            locator = (
                scope.get_by_role(role, name=name, exact=self.exact) if name else scope.get_by_role(role)
            )
        elif kind == "placeholder":
            locator = scope.get_by_placeholder(value, exact=self.exact)
        elif kind == "title":
            locator = scope.get_by_title(value, exact=self.exact)
        elif kind == "test_id":
            locator = scope.get_by_test_id(value)
        elif kind == "xpath":
            locator = scope.locator(f"xpath={value}")
        else:
            locator = scope.locator(value)
        return locator


# What a page offers, by kind of target: the names a person could have meant.
CANDIDATES_SCRIPT = """
(kind) => {
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const clean = (t) => (t || '').replace(/\\s+/g, ' ').trim();
  const out = new Set();
  if (kind === 'label') {
    for (const el of document.querySelectorAll('label, legend')) if (visible(el)) out.add(clean(el.textContent).replace(/\\s*\\*$/, ''));
    for (const el of document.querySelectorAll('[aria-label]')) out.add(clean(el.getAttribute('aria-label')));
  } else if (kind === 'placeholder') {
    for (const el of document.querySelectorAll('[placeholder]')) out.add(clean(el.getAttribute('placeholder')));
  } else if (kind === 'title') {
    for (const el of document.querySelectorAll('[title]')) out.add(clean(el.getAttribute('title')));
  } else if (kind === 'test_id') {
    for (const el of document.querySelectorAll('[data-testid]')) out.add(el.getAttribute('data-testid'));
  } else {
    const sel = 'a, button, input[type=submit], input[type=button], label, legend, h1, h2, h3, th, td, li, p, span, strong';
    for (const el of document.querySelectorAll(sel)) {
      if (!visible(el)) continue;
      const t = clean(el.value && el.tagName === 'INPUT' ? el.value : el.textContent);
      if (t && t.length <= 80) out.add(t);
    }
  }
  return [...out].filter(Boolean).slice(0, 500);
}
"""


def closest_candidates(wanted: str, candidates: list[str], limit: int = 3) -> list[str]:
    """The page's names closest to what the workflow asked for."""
    lowered = {c.lower(): c for c in candidates}
    matches = difflib.get_close_matches(wanted.lower(), list(lowered), n=limit, cutoff=0.5)
    if not matches:
        matches = [c for c in lowered if wanted.lower() in c or c in wanted.lower()][:limit]
    return [lowered[m] for m in matches]
