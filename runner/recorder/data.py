"""`robo record --data`: the values typed that a spreadsheet's first row holds become its columns, and the form's
steps a loop over every row.

The sheet is read as the excel robot reads it (`excel.read_rows`, which takes .xlsx, .xlsm and .csv): the header
row names the columns. A value typed (or chosen) that equals a cell of the first data row, as text, becomes
`{{ demande["<column>"] }}`; the steps from the first field filled on that page to the click (or Enter) that sends
the form are wrapped in a `for_each` over the sheet, with a `key:` when a column is an obvious key.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robots.browser import normalise
from robots.kit import ConfigurationError, _, detect_delimiter, read_csv_grid
from runner.recorder.steps import FIELD_KINDS, SUBMIT_KINDS, Action

ITEM_NAME = "demande"
"""The loop item's name, as in the shipped data-entry workflows (`saisie_dossiers.yaml`)."""
ROWS_NAME = "demandes"
MAX_ROWS = 100_000
_KEY_WORDS = re.compile(
    r"r[ée]f[ée]rence|\bref\b|num[ée]ro|\bn[°o]\b|identifiant|\bid\b|\bcl[ée]\b", re.IGNORECASE
)


def jinja_string(text: str) -> str:
    """`text` as a Jinja string literal (Jinja reads Python's escapes, as JSON writes them)."""
    return json.dumps(text, ensure_ascii=False)


@dataclass(frozen=True)
class Sheet:
    """A spreadsheet's columns and rows, as text."""

    path: Path
    columns: list[str]
    rows: list[list[str]]

    @property
    def first_row(self) -> dict[str, str]:
        return dict(zip(self.columns, self.rows[0], strict=False)) if self.rows else {}

    def key_column(self) -> str | None:
        """A column that is an obvious key: named like a reference or number, filled and unique on every row."""
        for index, column in enumerate(self.columns):
            values = [row[index].strip() if index < len(row) else "" for row in self.rows]
            if _KEY_WORDS.search(column) and all(values) and len(set(values)) == len(values):
                return column
        return None

    def column_of(self, typed: str, label: str | None = None) -> str | None:
        """The column whose first-row cell is the text typed (spaces around it do not count; a number may have a
        decimal comma): the one named like the field's `label` when several are, else the first."""
        wanted = typed.strip()
        if not wanted:
            return None
        found = [column for column, cell in self.first_row.items() if wanted in _forms(cell)]
        named = [column for column in found if label is not None and _same(column, label)]
        return next(iter(named or found), None)

    def switch_column(self, checked: bool, label: str) -> str | None:
        """The column named like a checkbox's `label` whose first-row cell says what the box shows (oui/non…)."""
        for column, cell in self.first_row.items():
            if _same(column, label) and cell.strip().casefold() in (_ON if checked else _OFF):
                return column
        return None


_ON = frozenset({"oui", "true", "vrai", "1", "x", "yes"})
_OFF = frozenset({"non", "false", "faux", "0", "", "no"})
_DECIMAL = re.compile(r"-?\d+\.\d+")


def _forms(cell: str) -> set[str]:
    cell = cell.strip()
    return {cell, cell.replace(".", ",")} if _DECIMAL.fullmatch(cell) else {cell}


def _same(column: str, label: str) -> bool:
    return normalise(column).casefold() == normalise(label).casefold()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_sheet(path: Path) -> Sheet:
    """The columns and rows of a .xlsx/.xlsm (first sheet) or .csv file; a `ConfigurationError` when unreadable."""
    if not path.is_file():
        raise ConfigurationError(
            _("the data file {path} does not exist").format(path=path),
            hint=_("give a .xlsx or .csv file whose first row names the columns"),
        )
    suffix = path.suffix.lower()
    grid: list[list[str]] = []
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first_line = handle.readline()
        for row in read_csv_grid(path, detect_delimiter(first_line), "utf-8-sig"):
            grid.append(row)
            if len(grid) > MAX_ROWS:
                break
    elif suffix in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:
            raise ConfigurationError(
                _("the data file {path} cannot be read: {reason}").format(path=path, reason=exc)
            ) from None
        try:
            for values in workbook.worksheets[0].iter_rows(values_only=True):
                grid.append([_text(v) for v in values])
                if len(grid) > MAX_ROWS:
                    break
        finally:
            workbook.close()
    else:
        raise ConfigurationError(
            _("the data file {path} is neither a .xlsx nor a .csv file").format(path=path),
            hint=_("save the spreadsheet as .xlsx or .csv"),
        )
    grid = [row for row in grid if any(cell.strip() for cell in row)]
    if not grid:
        raise ConfigurationError(_("the data file {path} is empty").format(path=path))
    columns = [cell.strip() or f"column_{number}" for number, cell in enumerate(grid[0], 1)]
    return Sheet(path, columns, grid[1:])


@dataclass(frozen=True)
class Replacement:
    """A value typed that a column of the first row holds."""

    value: str
    column: str


def parametrise(actions: list[Action], sheet: Sheet) -> list[Replacement]:
    """Point each typed or chosen value that the sheet's first row holds to its column (in place)."""
    replaced = []
    for action in actions:
        if action.kind not in FIELD_KINDS or action.kind == "secret":
            continue
        label = action.group if action.kind == "choose" else (action.target.named if action.target else None)
        if action.kind == "check":
            column = sheet.switch_column(bool(action.value), label or "")
            if column is not None:
                action.column = column
                replaced.append(Replacement(_("ticked") if action.value else _("unticked"), column))
            continue
        value = action.value[0] if isinstance(action.value, list) and len(action.value) == 1 else action.value
        if not isinstance(value, str):
            continue
        column = sheet.column_of(value, label)
        if column is not None:
            action.column = column
            replaced.append(Replacement(value, column))
    return replaced


def loop_bounds(actions: list[Action]) -> tuple[int, int] | None:
    """The first and last index of the form's steps: from the first field on the page of the first value
    replaced, to the first click or Enter after the last one (included); None when nothing was replaced."""
    marked = [index for index, action in enumerate(actions) if action.column is not None]
    if not marked:
        return None
    start = marked[0]
    page = actions[start].page
    while start > 0 and actions[start - 1].kind in FIELD_KINDS and actions[start - 1].page == page:
        start -= 1
    end = marked[-1]
    for index in range(marked[-1] + 1, len(actions)):
        if actions[index].kind in SUBMIT_KINDS:
            end = index
            break
    return start, end
