"""The filters, tests and globals Rob'O adds to templates: French dates and numbers (Babel), slugs, extraction
from a text (regular expressions and the kit's ready patterns), `is siret`, `is siren`, `is iban`, `now` and
`today`."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import reprlib
import unicodedata
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from typing import Any

from robots.kit import READY_PATTERNS, is_valid
from robots.kit import extract as extract_from
from runner.language.templating.limits import MAX_NUMBER_DIGITS, check_text, too_long

_LOCALE = "fr_FR"
# Explicit CLDR patterns rather than the locale's "short"/"long"/"full" names, which a CLDR release may change.
_DATE_PATTERNS = {"short": "dd/MM/y", "long": "d MMMM y", "full": "EEEE d MMMM y"}


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S", "%d-%m-%Y"):
            try:
                return dt.datetime.strptime(text[: len(dt.datetime.now().strftime(fmt))], fmt).date()
            except ValueError:
                continue
        try:
            return dt.datetime.fromisoformat(text).date()
        except ValueError:
            pass
    raise ValueError(f"not a date: {reprlib.repr(value)}")


def date_fr(value: Any, style: str = "long") -> str:
    """`23 novembre 2026` (long), `lundi 23 novembre 2026` (full) or `23/11/2026` (short)."""
    from babel.dates import format_date

    day = _to_date(value)
    pattern = _DATE_PATTERNS["short" if style == "short" else "full" if style == "full" else "long"]
    if day.day == 1:
        # French writes the first of the month as an ordinal ("1er novembre"); CLDR's `d` gives "1".
        pattern = pattern.replace("d MMMM", "'1er' MMMM")
    return format_date(day, pattern, locale=_LOCALE)


def date_iso(value: Any) -> str:
    return _to_date(value).isoformat()


def date_format(value: Any, fmt: str = "%d/%m/%Y") -> str:
    if isinstance(value, dt.datetime):
        return value.strftime(fmt)
    return _to_date(value).strftime(fmt)


def to_date(value: Any) -> dt.date:
    return _to_date(value)


def slug(value: Any, separator: str = "-") -> str:
    """`Dossier n°12 : Éric` → `dossier-n-12-eric`: safe in file names and URLs."""
    check_text(value)
    ligatures = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})
    decomposed = unicodedata.normalize("NFKD", str(value).translate(ligatures))
    text = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"[^a-z0-9]+", separator, text.lower()).strip(separator)


FOLDER_SLUG_MAX_LENGTH = 60


def folder_slug(value: Any, fallback: str = "workflow", max_length: int = FOLDER_SLUG_MAX_LENGTH) -> str:
    """A slug that can name a folder: never empty, with a Latin letter, at most `max_length` characters.

    It holds only `a-z`, `0-9` and `-`, so never a path separator, `.` or `..`. A value whose slug has no Latin
    letter (`日本語`, `---`, `../..`, `2024`) gives `<fallback>[-<digits>]-<hash>`; a longer one is cut at
    `max_length` and ends with the hash, so that two long names stay apart. The hash is the first 8 hex digits
    of the value's SHA-256: the same value always gets the same folder.
    """
    text = slug(value)
    if re.search(r"[a-z]", text) and len(text) <= max_length:
        return text
    digest = hashlib.sha256(str(value).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    room = max_length - len(digest) - 1
    if not re.search(r"[a-z]", text[:room]):
        text = f"{fallback}-{text}" if text else fallback
    return f"{text[:room].rstrip('-')}-{digest}"


def _french_number(value: Any, decimals: int, *, in_euros: bool = False) -> str:
    """`value` read as a number (a French "1 234,5" too) and written by Babel with `decimals` decimals."""
    from babel.numbers import format_currency, format_decimal

    check_text(value)
    try:
        number = Decimal(str(value).replace(",", ".").replace("\u202f", "").replace(" ", ""))
    except InvalidOperation:
        raise ValueError(f"not a number: {reprlib.repr(value)}") from None
    digits = max(number.adjusted() if number.is_finite() else 0, decimals)
    if digits > MAX_NUMBER_DIGITS:
        raise too_long("a number", digits, MAX_NUMBER_DIGITS, "digits")
    if type(decimals) is not int or decimals < 0:
        # The message Python's format() gave when these filters used it, kept for the same error.
        raise ValueError("invalid format string")
    if not number.is_finite():
        # Babel would write "NaN,00" and "∞": these stay "NaN" and "Infinity", as format() wrote them.
        return f"{number}\u00a0€" if in_euros else str(number)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    # Babel rounds in the current decimal context, whose 28 digits would refuse a longer number; half-even, as
    # format() did. fr_FR's group separator in CLDR is the narrow no-break space (U+202F) this filter always used.
    with localcontext(prec=2 * MAX_NUMBER_DIGITS + 2, rounding=ROUND_HALF_EVEN):
        if in_euros:
            return format_currency(number, "EUR", f"{pattern}\u00a0¤", locale=_LOCALE, currency_digits=False)
        return format_decimal(number, pattern, locale=_LOCALE)


def number_fr(value: Any, decimals: int = 2) -> str:
    """`1234.5` → `1 234,50` (French grouping with a narrow no-break space, comma decimal mark)."""
    return _french_number(value, decimals)


def euros(value: Any, decimals: int = 2) -> str:
    """`1234.5` → `1 234,50 €` (a no-break space before the sign)."""
    return _french_number(value, decimals, in_euros=True)


def extract(
    value: Any,
    pattern: str | None = None,
    *,
    kind: str | None = None,
    reference: str | None = None,
    expect: str = "one",
) -> Any:
    r"""What a text holds, as the `documents.extract` action finds it (the same parameters).

    `texte | extract('(?P<ref>DOS-\d{4}-\d{4})')` gives `{"ref": "DOS-2026-0001"}`; `texte | extract(kind='siret')`
    the one valid SIRET; `texte | extract(reference='DOS-####-####', expect='all')` every reference. Nothing or
    several candidates with `expect='one'` fail the step, listing them.
    """
    return extract_from(value, pattern=pattern, kind=kind, reference=reference, expect=expect)


def _is_kind(kind: str) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        return is_valid(kind, value)

    test.__name__ = kind
    test.__doc__ = f"`x is {kind}`: the whole value is a valid {kind.upper()} (its key checked)."
    return test


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()


def _today() -> dt.date:
    return dt.date.today()


FILTERS: dict[str, Callable[..., Any]] = {
    "date_fr": date_fr,
    "date_iso": date_iso,
    "date": date_format,
    "to_date": to_date,
    "slug": slug,
    "number_fr": number_fr,
    "euros": euros,
    "extract": extract,
}
"""The filters a template can use besides Jinja's own, by name."""
FILTER_NAMES = tuple(FILTERS)
TESTS: dict[str, Callable[[Any], bool]] = {
    kind: _is_kind(kind) for kind in READY_PATTERNS if kind in ("siret", "siren", "iban")
}
"""The tests a template can use besides Jinja's own (`x is siret`), by name."""
GLOBALS: dict[str, Callable[..., Any]] = {"now": _now, "today": _today}
"""The functions a template can call besides Jinja's own, by name."""
