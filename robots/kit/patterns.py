r"""Ready patterns for what French services read daily: SIRET, SIREN, IBAN, dates and amounts in euros.

Each kind is declared once here (`READY_PATTERNS`): the expressions that find its candidates in a text, and how
a candidate is checked and read. The `documents.extract` action and the template filters and tests (`find`,
`is siret`…) both use these declarations. A candidate that has the form but fails its check (a SIRET whose Luhn
key is wrong, 31/02/2026) is kept as *refused*, with the reason, so that "nothing found" can say what was seen.

The checks are python-stdnum's: SIREN and SIRET with the Luhn key (La Poste's establishments, SIREN 356000000,
use a sum of digits multiple of 5 instead), IBAN with its country's length and format and the ISO 13616 mod-97
key. Dates are read in digits (12/03/2026, 12-03-26, 12.03.2026, 2026-03-12) and in words (« 3 mars 2026 »,
« 1er janvier 2026 », « lundi 12 mars 2026 »: the weekday is not checked, the numbers are what counts), accents
optional (OCR loses them). Amounts are read in any French writing (« 1 234,56 € », « 1.234,56 EUR », « 12 € »,
« 1 234,56 euros », « EUR 12,50 »), with any space (no-break, narrow no-break) between thousands.

A dossier reference has a shape the workflow gives: `#` a digit, `@` a letter, `*` a letter or a digit, any
other character itself (`DOS-####-####`); case and spaces around its separators do not matter (OCR), and the
value is given in the shape's form (`DOS-2026-0001`).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, Literal

from robots.kit.i18n import _

Kind = Literal["siret", "siren", "iban", "date", "amount"]
"""The ready patterns by name."""

_SPACE = (
    "[ \u00a0\u202f]"  # a space, a no-break space, a narrow no-break space (how Word and Babel group digits)
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """Something found in a text: its value (None when refused), the text as written, where, and why refused."""

    value: Any
    text: str
    start: int
    end: int
    refused: str | None = None  # the reason, in the reader's language, when the text has the form but fails


@dataclass(frozen=True, slots=True)
class ReadyPattern:
    """One kind of value: the expressions finding its candidates and how each match is read."""

    name: str
    expressions: tuple[str, ...]  # `regex` syntax; group 0 is the candidate's text
    read: Callable[[str], Any]  # the value of a match's text, a `Refused` reason, or None: not one at all


def _compact(text: str) -> str:
    return "".join(char for char in text if char.isalnum())


def _stdnum_refusal(error: Exception, what: str, length: int, expected: int) -> str:
    from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength

    if isinstance(error, InvalidChecksum):
        return _("its check key is wrong: this is not a valid {what} (a digit mistyped?)").format(what=what)
    if isinstance(error, InvalidLength):
        return _("a {what} has {expected} characters, this one has {count}").format(
            what=what, expected=expected, count=length
        )
    if isinstance(error, InvalidComponent):
        return _("its country or bank code is not valid for a {what}").format(what=what)
    return _("it is not written as a {what}").format(what=what)


class Refused(str):
    """The reason a match that has the form is not a valid value (a `read` returns it instead of a value)."""

    __slots__ = ()


def _siret(text: str) -> Any:
    from stdnum.exceptions import ValidationError
    from stdnum.fr import siret

    number = _compact(text)
    try:
        return siret.validate(number)
    except ValidationError as error:
        return Refused(_stdnum_refusal(error, "SIRET", len(number), 14))


def _siren(text: str) -> Any:
    from stdnum.exceptions import ValidationError
    from stdnum.fr import siren

    number = _compact(text)
    try:
        return siren.validate(number)
    except ValidationError as error:
        return Refused(_stdnum_refusal(error, "SIREN", len(number), 9))


def _iban(text: str) -> Any:
    from stdnum import iban
    from stdnum.exceptions import ValidationError

    number = _compact(text).upper()
    expected = _iban_length(number)
    if expected is None:
        return Refused(_("{country} is not the code of a country that has IBANs").format(country=number[:2]))
    if len(number) != expected:
        return Refused(
            _("an IBAN starting with {country} has {expected} characters, this one has {count}").format(
                country=number[:2], expected=expected, count=len(number)
            )
        )
    try:
        return iban.validate(number)
    except ValidationError as error:
        return Refused(_stdnum_refusal(error, "IBAN", len(number), expected))


def _iban_length(number: str) -> int | None:
    """How many characters an IBAN of `number`'s country has (python-stdnum's registry), None if it has none."""
    import regex
    from stdnum import numdb

    found = numdb.get("iban").info(number[:2])
    structure = found[0][1].get("bban") if found and found[0][1] else None
    if not structure:
        return None
    return 4 + sum(int(count) for count in regex.findall(r"(\d+)!", structure))


# French month names and their usual abbreviations, without accents (matched after removing them).
_MONTHS = {
    **dict.fromkeys(("janvier", "janv"), 1),
    **dict.fromkeys(("fevrier", "fevr", "fev"), 2),
    **dict.fromkeys(("mars",), 3),
    **dict.fromkeys(("avril", "avr"), 4),
    **dict.fromkeys(("mai",), 5),
    **dict.fromkeys(("juin",), 6),
    **dict.fromkeys(("juillet", "juil"), 7),
    **dict.fromkeys(("aout",), 8),
    **dict.fromkeys(("septembre", "sept", "sep"), 9),
    **dict.fromkeys(("octobre", "oct"), 10),
    **dict.fromkeys(("novembre", "nov"), 11),
    **dict.fromkeys(("decembre", "dec"), 12),
}
_TWO_DIGIT_PIVOT = 69  # as strptime's %y: 00-68 are 2000-2068, 69-99 are 1969-1999


def without_accents(text: str) -> str:
    """`Août` → `Aout`: letters without their accents (OCR and keyboards often drop them)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _day(year: int, month: int, day: int) -> Any:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return Refused(_("there is no such day in the calendar"))


def _full_year(year: str) -> int:
    number = int(year)
    if len(year) == 2:
        return number + (2000 if number < _TWO_DIGIT_PIVOT else 1900)
    return number


def _date(text: str) -> Any:
    numeric = _compiled(r"(\d{4})-(\d{1,2})-(\d{1,2})").fullmatch(text)
    if numeric:
        return _day(int(numeric[1]), int(numeric[2]), int(numeric[3]))
    numeric = _compiled(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})").fullmatch(text)
    if numeric:
        return _day(_full_year(numeric[3]), int(numeric[2]), int(numeric[1]))
    words = _compiled(r"(\d{1,2})(?:\s?(?:er|ᵉʳ))?\s+(\w+)\.?\s+(\d{4})").fullmatch(text)
    if words is None:
        return Refused(_("it is not written as a date"))
    month = _MONTHS.get(without_accents(words[2]).lower())
    if month is None:
        return None  # "3 pommes 2026": not a date at all
    return _day(int(words[3]), month, int(words[1]))


def _amount(text: str) -> Any:
    number = _compiled(rf"([-−]\s?)?({_THOUSANDS})(?:,(\d+)|\.(\d{{1,2}})(?!\d))?").search(text)
    if number is None:
        return Refused(_("it is not written as an amount"))
    whole = "".join(char for char in number[2] if char.isdigit())
    decimals = number[3] or number[4] or ""
    sign = "-" if number[1] else ""
    return Decimal(f"{sign}{whole}.{decimals}" if decimals else f"{sign}{whole}")


_BEFORE = r"(?<![\w.,])"  # nothing of a word or a number just before a candidate
_AFTER = r"(?![\w])"
# At most 15 digits before the decimal mark: each start is then a bounded amount of work, so that a text of
# spaced digits ("123 123 123 …") is read in linear time, never with a backtracking search over all of it.
_THOUSANDS = rf"(?:\d{{1,3}}(?:(?:{_SPACE}|[.'’])\d{{3}}){{1,4}}|\d{{1,15}})"
_DECIMALS = r"(?:,\d{1,6}|\.\d{1,2})?(?!\d)"
_EUROS = r"(?i:€|eur(?:os?)?\b)"
_SIGN = r"(?:[-−]\s?)?"

READY_PATTERNS: dict[str, ReadyPattern] = {
    "siret": ReadyPattern(
        "siret",
        (
            rf"(?<!\d{_SPACE}?){_BEFORE}\d{{3}}{_SPACE}?\d{{3}}{_SPACE}?\d{{3}}{_SPACE}?\d{{5}}(?!{_SPACE}?\d){_AFTER}",
        ),
        _siret,
    ),
    "siren": ReadyPattern(
        "siren",
        (rf"(?<!\d{_SPACE}?){_BEFORE}\d{{3}}{_SPACE}?\d{{3}}{_SPACE}?\d{{3}}(?!{_SPACE}?\d){_AFTER}",),
        _siren,
    ),
    "iban": ReadyPattern(
        "iban",
        # Groups of 4 as printed, or all together; the last group may be shorter (FR: 27 characters).
        (
            rf"(?<![\w])[A-Z]{{2}}\d{{2}}(?:{_SPACE}?[A-Z0-9]{{4}}){{2,7}}(?:{_SPACE}?[A-Z0-9]{{1,3}})?(?![\w])",
        ),
        _iban,
    ),
    "date": ReadyPattern(
        "date",
        (
            r"(?<![\d/.-])\d{4}-\d{1,2}-\d{1,2}(?![\d/-])",
            r"(?<![\d/.-])\d{1,2}([/.-])\d{1,2}\1(?:\d{4}|\d{2})(?![\d/.-]\d|\d)",
            r"(?<![\w])\d{1,2}(?:\s?(?:er|ᵉʳ))?\s+\w{3,9}\.?\s+\d{4}(?!\d)",
        ),
        _date,
    ),
    "amount": ReadyPattern(
        "amount",
        (
            rf"{_BEFORE}{_SIGN}{_THOUSANDS}{_DECIMALS}{_SPACE}*{_EUROS}",
            rf"(?<![\w]){_EUROS}{_SPACE}*{_SIGN}{_THOUSANDS}{_DECIMALS}(?![\d])",
        ),
        _amount,
    ),
}
"""Every ready pattern by kind name."""

KINDS: tuple[str, ...] = tuple(READY_PATTERNS)


@cache
def _compiled(expression: str) -> Any:
    import regex

    return regex.compile(expression)


def ready_candidates(
    kind: str, text: str, *, deadline: float | None = None, search: Callable[..., Any] | None = None
) -> list[Candidate]:
    """Every candidate of `kind` in `text`, in the order of the text; refused ones carry their reason.

    `search(pattern, text, position)` finds the next match (the extraction module passes one bounded in time);
    by default the match is unbounded, which the ready expressions allow: none of them backtracks much.
    """
    ready = READY_PATTERNS[kind]
    found: list[Candidate] = []
    taken_until = 0  # the end of the last candidate kept: matches come by start, so one before it overlaps
    matches: list[tuple[int, int, str]] = []
    for expression in ready.expressions:
        pattern = _compiled(expression)
        for start, end, written in _matches(pattern, text, search):
            matches.append((start, end, written))
    for start, end, written in sorted(matches, key=lambda match: (match[0], -match[1])):
        if start < taken_until:
            continue  # the same text read by two expressions (the longest first wins)
        value = ready.read(written)
        if value is None:
            continue
        taken_until = end
        if isinstance(value, Refused):
            found.append(Candidate(None, written, start, end, str(value)))
        else:
            found.append(Candidate(value, written, start, end))
    return found


def _matches(pattern: Any, text: str, search: Callable[..., Any] | None) -> Iterator[tuple[int, int, str]]:
    position = 0
    while position <= len(text):
        match = search(pattern, text, position) if search else pattern.search(text, position)
        if match is None:
            return
        yield match.start(), match.end(), match.group(0)
        position = match.end() if match.end() > match.start() else match.end() + 1


def is_valid(kind: str, value: Any) -> bool:
    """Whether `value` as a whole is a valid `kind` (`is siret`): spaces between digit groups allowed."""
    if value is None or isinstance(value, bool):
        return False
    if kind == "date" and isinstance(value, dt.date):
        return True
    if kind == "amount" and isinstance(value, int | float | Decimal):
        return True
    text = str(value).strip()
    if len(text) > 200:
        return False
    candidates = ready_candidates(kind, text)
    return len(candidates) == 1 and candidates[0].refused is None and candidates[0].text == text


# Characters of a reference shape that stand for a class of characters.
_SHAPE_CLASSES = {"#": r"\d", "@": r"[^\W\d_]", "*": r"[^\W_]"}


def reference_expression(shape: str) -> str:
    """The expression that finds references of `shape` (`DOS-####-####`) in a text.

    `#` is a digit, `@` a letter, `*` a letter or a digit; a letter or digit of the shape stands for itself
    (case does not matter); any other character is a separator, with an optional space on either side.
    """
    import regex

    parts = []
    for char in shape:
        if char in _SHAPE_CLASSES:
            parts.append(_SHAPE_CLASSES[char])
        elif char.isalnum():
            parts.append(regex.escape(char))
        elif char.isspace():
            parts.append(r"\s+")
        else:
            parts.append(rf"\s?{regex.escape(char)}\s?")
    return rf"(?i)(?<![\w]){''.join(parts)}(?![\w])"


def reference_value(shape: str, written: str) -> str:
    """A reference found for `shape` in the shape's own form: without the spaces OCR adds, in capitals."""
    separators = {char for char in shape if not char.isalnum() and not char.isspace() and char not in "#@*"}
    kept = [
        char
        for index, char in enumerate(written)
        if not (char.isspace() and _next_to(written, index, separators))
    ]
    return "".join(kept).upper()


def _next_to(text: str, index: int, separators: set[str]) -> bool:
    before = text[index - 1] if index else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return before in separators or after in separators
