"""Values between spreadsheet cells (or CSV fields) and records: typing on read, safe cells on write."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from robots.kit import BusinessError, _, ngettext

Record = dict[str, Any]

# Numbers in a CSV file become numbers only when nothing is lost: no leading zero (a postcode, a phone
# number), at most 9 digits before the decimal separator (a SIRET stays text).
_CSV_NUMBER = re.compile(r"-?(?:0|[1-9]\d{0,8})(?:[.,]\d+)?")
_CSV_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CSV_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?")
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def from_cell(value: Any) -> Any:
    """A cell's value as a record holds it: a datetime at midnight is a date, an empty text is None."""
    if isinstance(value, dt.datetime) and value.time() == dt.time(0) and value.tzinfo is None:
        return value.date()
    if isinstance(value, str) and not value:
        return None
    return value


def from_csv(text: str) -> Any:
    """A CSV field typed as conservatively as possible: ISO dates, plain numbers, empty → None."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped.startswith("'") and stripped[1:].startswith(_CSV_FORMULA_START):
        return text.strip()[1:]  # the quote `to_csv` adds so that a spreadsheet shows the text, not a formula
    if _CSV_NUMBER.fullmatch(stripped):
        number = stripped.replace(",", ".")
        return float(number) if "." in number else int(number)
    try:
        if _CSV_DATE.fullmatch(stripped):
            return dt.date.fromisoformat(stripped)
        if _CSV_DATETIME.fullmatch(stripped):
            return from_cell(dt.datetime.fromisoformat(stripped))
    except ValueError:
        pass
    return text


def header_names(cells: Sequence[Any]) -> list[str]:
    """Column names from a header row: text as written, unnamed columns by letter, repeats numbered."""
    from openpyxl.utils.cell import get_column_letter

    names: list[str] = []
    for index, cell in enumerate(cells, start=1):
        base = _header_text(cell) or get_column_letter(index)
        name, counter = base, 1
        while name in names:
            counter += 1
            name = f"{base} ({counter})"
        names.append(name)
    return names


def _header_text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime | dt.date):
        return from_cell(cell).isoformat()  # type: ignore[no-any-return]
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def find_column(name: str, columns: Sequence[str], where: str) -> int:
    """The 0-based position of column `name`; a `BusinessError` naming the columns when it is not there."""
    if name in columns:
        return columns.index(name)
    folded = [column.strip().casefold() for column in columns]
    if name.strip().casefold() in folded:
        return folded.index(name.strip().casefold())
    raise missing_columns([name], columns, where)


def missing_columns(names: Sequence[str], columns: Sequence[str], where: str) -> BusinessError:
    """The error for columns a step needs that the sheet does not have."""
    close = difflib.get_close_matches(names[0], list(columns), n=1)
    listed = ", ".join(repr(c) for c in columns) or _("none (the header row is empty)")
    return BusinessError(
        ngettext(
            "{where} has no column {names}; its columns are: {columns}",
            "{where} has no columns {names}; its columns are: {columns}",
            len(names),
        ).format(where=where, names=", ".join(repr(n) for n in names), columns=listed),
        hint=_("did you mean {name}?").format(name=repr(close[0]))
        if close
        else _("check `header_row` and the column names"),
    )


def to_cell(value: Any, formulas: bool) -> tuple[Any, bool]:
    """The value to put in a cell, and whether it must be stored as text (so '=…' is not a formula)."""
    if value is None or isinstance(value, bool | int | float | Decimal | dt.date | dt.time | dt.timedelta):
        return value, False
    if isinstance(value, dict | list | tuple | set):
        value = json.dumps(value, ensure_ascii=False, default=str)
    text = _ILLEGAL.sub("", str(value))
    return text, text.startswith("=") and not formulas


def to_csv(value: Any, formulas: bool) -> str:
    """A value as a CSV field; text that a spreadsheet would run as a formula is prefixed with `'`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return (value.date() if value.time() == dt.time(0) else value).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict | list | tuple | set):
        value = json.dumps(value, ensure_ascii=False, default=str)
    text = str(value)
    if not formulas and text.startswith(_CSV_FORMULA_START) and not _CSV_NUMBER.fullmatch(text):
        return "'" + text
    return text


def record_columns(records: Sequence[Record], columns: Sequence[str] | None = None) -> list[str]:
    """The columns to write: `columns` if given, else every key in order of first appearance."""
    if columns:
        return list(columns)
    return list(dict.fromkeys(key for record in records for key in record))


def check_records(records: Any, where: str) -> None:
    """A `BusinessError` unless `records` is a list of mappings."""
    for index, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise BusinessError(
                _("{where}: record {index} is not a mapping of column → value (got {type})").format(
                    where=where, index=index, type=type(record).__name__
                ),
                hint=_("give a list of records, e.g. the result of excel.read_rows or data.select"),
            )
