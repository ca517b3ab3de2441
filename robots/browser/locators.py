"""How a workflow names an element on a page (`Target`), and what the page offers when the name is wrong."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, ClassVar

from robots.kit import ConfigurationError, FlatParameters, _

TARGET_KINDS = ("label", "text", "role", "placeholder", "title", "test_id", "css", "xpath")
NAMED_KINDS = ("label", "text", "role", "placeholder")
"""The kinds of target that name an element the way a person reads it, compared after `normalise`."""

# -- names as people see them ------------------------------------------------------------------------------------

_SAME_CHARACTERS = {
    "'": "'’‘ʼ′´`",
    '"': '"“”«»″„',
}
"""Characters a page may show where a person types the first one (typographic apostrophes and quotes)."""
_AS_TYPED = str.maketrans({c: typed for typed, shown in _SAME_CHARACTERS.items() for c in shown})
_SPACES = re.compile(r"\s+")  # str's \s includes the no-break spaces (U+00A0, U+202F)
_DECORATION = re.compile(r"[\s:*]+$")  # a label's trailing " :" and required-field marker "*"


def normalise(text: str) -> str:
    """A name as compared: quotes as typed, spaces collapsed, no trailing colon or required marker (case kept).

    "Nom d’utilisateur : *" and "Nom d'utilisateur" are the same name; compare `.casefold()`s for case.
    """
    text = unicodedata.normalize("NFC", text).translate(_AS_TYPED)
    return _DECORATION.sub("", _SPACES.sub(" ", text).strip())


NORMALISE_JS = (
    "(t) => String(t || '').normalize('NFC')"
    + "".join(f".replace(/[{shown}]/g, {typed!r})" for typed, shown in _SAME_CHARACTERS.items())
    + r".replace(/\s+/g, ' ').trim().replace(/[\s:*]+$/, '')"
)
"""`normalise` for a script run in the page (built from the same table)."""

LABEL_TEXT_JS = (
    "(label) => { const copy = label.cloneNode(true);"
    " copy.querySelectorAll('select, textarea, datalist, input, button, option').forEach((e) => e.remove());"
    " return copy.textContent || ''; }"
)
"""A `<label>`'s own words, for a script run in the page: without the field it wraps (a `<select>` inside its label
would otherwise add every option's text to the label's)."""


def tolerant_pattern(wanted: str, exact: bool) -> re.Pattern[str]:
    """A pattern (which Playwright runs in the page) matching every text whose `normalise` contains `wanted`'s.

    Whole texts in the same case only when `exact` (what `Target.choose` keeps of an exact target's matches, so
    that a locator finding one element finds the one meant); else any case, left to `rank`, which prefers the
    same case.
    """
    parts = []
    for char in normalise(wanted):
        if char == " ":
            parts.append(r"\s+")
        elif char in _SAME_CHARACTERS:
            parts.append("[" + re.escape(_SAME_CHARACTERS[char]) + "]")
        else:
            parts.append(re.escape(char))
    body = "".join(parts)
    return re.compile(rf"^\s*{body}[\s:*]*$") if exact else re.compile(body, re.IGNORECASE)


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
        within: A CSS selector of the container to search in, e.g. "form.formulaire-dossier" (all that match).
        exact: Match the label, text or name exactly (case and whole string) instead of as a part; quotes,
            spaces, a trailing ":" and a "*" never matter.
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

    @classmethod
    def problems(cls, given: Mapping[str, Any], optional: bool) -> list[tuple[str, str]]:
        """An empty locator, or `within`, `nth`, `exact` or `name` without anything to look for."""
        found = []
        for kind in TARGET_KINDS:
            value = given.get(kind)
            if isinstance(value, str) and not (normalise(value) if kind in NAMED_KINDS else value.strip()):
                found.append((kind, _("'{kind}' is empty: it must say what to look for").format(kind=kind)))
        kinds = ", ".join(TARGET_KINDS)
        if optional and not any(kind in given for kind in TARGET_KINDS):
            found.extend(
                (
                    modifier,
                    _("'{modifier}' says how to look, not what for: add one of {kinds}").format(
                        modifier=modifier, kinds=kinds
                    ),
                )
                for modifier in ("within", "nth", "exact", "name")
                if modifier in given
            )
        if "name" in given and "role" not in given and any(kind in given for kind in TARGET_KINDS):
            found.append(("name", _("'name' is the accessible name that goes with 'role'")))
        return found

    @property
    def kind(self) -> str:
        """Which kind of target this is (label, text, role, css…): the one field that is set."""
        for kind in TARGET_KINDS:
            if getattr(self, kind) is not None:
                return kind
        return "css"

    @property
    def value(self) -> str:
        """The value of the target's kind, as written in the workflow."""
        return str(getattr(self, self.kind))

    def describe(self) -> str:
        """Say in words what is looked for, e.g. "the field labelled 'Nom'"."""
        kind, value = self.kind, self.value
        if kind == "label":
            text = _("the field labelled '{label}'").format(label=value)
        elif kind == "text":
            text = _("the element with the text '{text}'").format(text=value)
        elif kind == "role":
            role, name = self.role_and_name()
            text = (
                _("the {role} '{name}'").format(role=role, name=name)
                if name
                else _("the {role}").format(role=role)
            )
        else:
            text = _("the element with {kind} '{value}'").format(kind=kind.replace("_", " "), value=value)
        if self.nth is not None:
            text += _(" (match number {n})").format(n=self.nth)
        if self.within:
            text += _(" inside '{container}'").format(container=self.within)
        return text

    def role_and_name(self) -> tuple[str, str | None]:
        """The ARIA role and accessible name, `role: "button:Envoyer"` split in two."""
        role = self.role or ""
        if ":" in role and self.name is None:
            role, _, name = role.partition(":")
            return role.strip(), name.strip()
        return role.strip(), self.name

    @property
    def named(self) -> str | None:
        """The name a person reads that this target looks for; None for a bare role, CSS, XPath, title or test id."""
        if self.kind == "role":
            name = self.role_and_name()[1]
        else:
            name = self.value if self.kind in NAMED_KINDS else None
        return name if name and normalise(name) else None

    async def matches(self, scope: Any) -> tuple[Any, list[Match]]:
        """Every element the target matches now (a locator, and each element described), in one page round trip."""
        locator = self.locate_all(scope)
        described = await locator.evaluate_all(DESCRIBE_MATCHES_SCRIPT, self.kind)
        return locator, [Match.read(index, data) for index, data in enumerate(described)]

    def choose(self, matches: Sequence[Match]) -> list[Match]:
        """The matches meant (see `rank`): one, several equally good ones, or none; `nth` picks among them."""
        wanted = self.named or ""
        if self.exact:
            matches = [m for m in matches if any(normalise(n) == normalise(wanted) for n in m.names)]
        best = rank(wanted, matches, prefer_clickable=self.kind == "text")
        if self.nth is None:
            return best
        return [best[self.nth]] if -len(best) <= self.nth < len(best) else []

    def locate(self, scope: Any) -> Any:
        """A Playwright locator for the one element this target names (the first match, or match `nth`)."""
        locator = self.locate_all(scope)
        return locator.nth(self.nth) if self.nth is not None else locator.first

    def locate_all(self, scope: Any) -> Any:
        """A Playwright locator for every element this target matches, within a page, frame or frame locator."""
        if self.within:  # every container that matches: a page may have several (Django's sidebar is a table)
            scope = scope.locator(self.within)
        kind, value = self.kind, self.value
        if kind in ("label", "text", "placeholder") and normalise(value):
            value = tolerant_pattern(value, self.exact)  # type: ignore[assignment]
        if kind == "label":
            locator = scope.get_by_label(value)
        elif kind == "text":
            locator = scope.get_by_text(value)
        elif kind == "role":
            role, name = self.role_and_name()
            pattern = tolerant_pattern(name, self.exact) if name and normalise(name) else name
            locator = scope.get_by_role(role, name=pattern) if name else scope.get_by_role(role)
        elif kind == "placeholder":
            locator = scope.get_by_placeholder(value)
        elif kind == "title":
            locator = scope.get_by_title(value, exact=self.exact)
        elif kind == "test_id":
            locator = scope.get_by_test_id(value)
        elif kind == "xpath":
            locator = scope.locator(f"xpath={value}")
        else:
            locator = scope.locator(value)
        return locator


# -- choosing among the elements a target matches -----------------------------------------------------------------

# For each element a target's locator matched: the names it goes by, whether a person would click it, whether it is
# shown, which other matches it contains, and a short description for an error.
DESCRIBE_MATCHES_SCRIPT = (
    r"""
(elements, kind) => {
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const text = (el) => (el && (el.tagName === 'INPUT' ? el.value : el.textContent)) || '';
  const labelText = """
    + LABEL_TEXT_JS
    + r""";
  const byIds = (ids) => (ids || '').split(/\s+/).map((id) => document.getElementById(id)).filter(Boolean);
  const clickable = 'a[href], button, input, select, textarea, summary, [role=button], [role=link], '
    + '[role=menuitem], [role=tab], [role=checkbox], [role=radio], [role=option], [onclick]';
  const names = (el) => {
    if (kind === 'placeholder') return [el.getAttribute('placeholder') || ''];
    if (kind === 'text') return [text(el)];
    const out = [];
    if (el.getAttribute('aria-label')) out.push(el.getAttribute('aria-label'));
    const labelled = byIds(el.getAttribute('aria-labelledby'));
    if (labelled.length) out.push(labelled.map(text).join(' '));
    for (const label of el.labels || []) out.push(labelText(label));
    if (kind === 'role') out.push(text(el), el.getAttribute('title') || '', el.getAttribute('alt') || '');
    return out.filter(Boolean);
  };
  return elements.map((el) => {
    const cls = typeof el.className === 'string' ? el.className.trim().split(/\s+/)[0] : '';
    const what = el.tagName.toLowerCase() + (el.id ? '#' + el.id : cls ? '.' + cls : '');
    return {
      names: names(el),
      clickable: el.matches(clickable) || !!el.closest('a[href], button'),
      visible: visible(el),
      inside: elements.map((other, i) => other !== el && el.contains(other) ? i : -1).filter((i) => i >= 0),
      what,
      shown: text(el).replace(/\s+/g, ' ').trim().slice(0, 60),
    };
  });
}
"""
)


@dataclass(frozen=True)
class Match:
    """One element a target's locator matched, as `DESCRIBE_MATCHES_SCRIPT` describes it."""

    index: int
    names: tuple[str, ...]
    clickable: bool
    visible: bool
    inside: tuple[int, ...]
    what: str
    shown: str

    @classmethod
    def read(cls, index: int, data: dict[str, Any]) -> Match:
        """A match as the page's script reported it."""
        return cls(
            index,
            tuple(str(n) for n in data.get("names", ())),
            bool(data.get("clickable")),
            bool(data.get("visible")),
            tuple(int(i) for i in data.get("inside", ())),
            str(data.get("what", "")),
            str(data.get("shown", "")),
        )

    def describe(self) -> str:
        """The element as a person recognises it: its tag and the text it shows."""
        return f"<{self.what}> '{self.shown}'" if self.shown else f"<{self.what}>"


def rank(wanted: str, matches: Sequence[Match], *, prefer_clickable: bool) -> list[Match]:
    """The matches a person most likely means by `wanted`, in page order: several only when equally good.

    Shown before hidden; the whole name (normalised) before a part of it; an element one clicks (link, button,
    field, click role) before any other when `prefer_clickable`; the same case before another case; and among
    those still equal, the smallest: an element containing another one is dropped.
    """
    target = normalise(wanted)

    def score(match: Match) -> tuple[bool, bool, bool, bool]:
        names = [normalise(n) for n in match.names]
        whole = any(n.casefold() == target.casefold() for n in names)
        return (
            match.visible,
            whole,
            prefer_clickable and match.clickable,
            any(n == target for n in names) or (not whole and any(target in n for n in names)),
        )

    if not matches:
        return []
    scores = {match.index: score(match) for match in matches}
    best = max(scores.values())
    tied = [match for match in matches if scores[match.index] == best]
    indexes = {match.index for match in tied}
    return [match for match in tied if not indexes.intersection(match.inside)]


# What a page offers, by kind of target: the names a person could have meant.
CANDIDATES_SCRIPT = (
    """
(kind) => {
  const labelText = """
    + LABEL_TEXT_JS
    + """;
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const clean = (t) => (t || '').replace(/\\s+/g, ' ').trim();
  const out = new Set();
  if (kind === 'label') {
    for (const el of document.querySelectorAll('label, legend')) if (visible(el)) out.add(clean(labelText(el)).replace(/\\s*\\*$/, ''));
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
)


def closest_candidates(wanted: str, candidates: list[str], limit: int = 3) -> list[str]:
    """The page's names closest to what the workflow asked for (compared as `normalise`d, whatever the case)."""
    lowered = {normalise(c).casefold(): c for c in candidates}
    asked = normalise(wanted).casefold()
    matches = difflib.get_close_matches(asked, list(lowered), n=limit, cutoff=0.5)
    if not matches:
        matches = [c for c in lowered if asked in c or c in asked][:limit]
    return [lowered[m] for m in matches]


_ASCII_SPACES = re.compile(r"[\t\n\f\r ]+")


class _Options(HTMLParser):
    """The options of a drop-down list's HTML, each as its text and its value (`option.textContent`, `.value`)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.options: list[tuple[str, str]] = []
        self._text: list[str] | None = None
        self._value: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "option":
            self._end()
            self._text, self._value = [], None
            for name, value in attrs:
                if name == "value":
                    self._value = value or ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("option", "select"):
            self._end()

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self._end()  # an option left open at the end of the HTML

    def _end(self) -> None:
        if self._text is not None:
            text = "".join(self._text)
            # an option without a value attribute has its text for value, its ASCII spaces stripped and collapsed
            value = self._value if self._value is not None else _ASCII_SPACES.sub(" ", text).strip(" ")
            self.options.append((text, value))
            self._text = None


def list_options(html: str) -> list[tuple[str, str]]:
    """The options of a drop-down list, each as its text and its value, from its inner HTML.

    Playwright reads an element's HTML in its own isolated world; a script reading the options would first bring
    Playwright's helpers into the page's world (~11 ms per document).
    """
    parser = _Options()
    parser.feed(html)
    parser.close()
    return parser.options


def option_values(shown: Sequence[tuple[Any, Any]], wanted: Sequence[str]) -> list[str] | None:
    """The values of the drop-down options `wanted` names: each by its visible text as a person reads it.

    A name is an option's text (compared as `normalise` does; the first of equal texts) or else its value; None
    when one of them names no option shown (`shown`: the options' text and value pairs).
    """
    by_text: dict[str, str] = {}
    for text, value in shown:
        by_text.setdefault(normalise(str(text)).casefold(), str(value))
    values = {str(value) for _, value in shown}
    chosen = [
        by_text.get(normalise(name).casefold()) or (name if name in values else None) for name in wanted
    ]
    return (
        [value for value in chosen if value is not None]
        if all(value is not None for value in chosen)
        else None
    )


def error_target(error_when: str | dict[str, str]) -> Target:
    """The target an action's `error_when` names: a text, or a target's keys (a workflow error for others)."""
    if isinstance(error_when, str):
        return Target(text=error_when)
    unknown = [key for key in error_when if key not in (*TARGET_KINDS, "within", "exact", "name")]
    if unknown:
        raise ConfigurationError(
            _("error_when has no key {keys}").format(keys=", ".join(unknown)),
            hint=_("use one of {kinds}").format(kinds=", ".join(TARGET_KINDS)),
        )
    return Target(**error_when)  # type: ignore[arg-type]
