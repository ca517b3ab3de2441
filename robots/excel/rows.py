"""Rows of a sheet or a CSV grid as records, and records written back into cells (used by the `excel` robot)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any

from robots.excel.values import from_cell, from_csv, header_names, missing_columns, to_cell
from robots.kit import _

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

Records = list[dict[str, Any]]


def key_text(value: Any) -> str | None:
    """A key as it compares: 42, 42.0, "42" and " 42 " are the same key; None and "" are no key."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def blank(values: Sequence[Any]) -> bool:
    """Whether every value of a row is empty or only spaces."""
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in values)


def numbered(rows: Iterator[Sequence[Any]], start: int, skip: int) -> Iterator[tuple[int, Sequence[Any]]]:
    """The rows with their sheet numbers, the first `skip` left out."""
    for number, row in enumerate(rows, start=start):
        if number - start >= skip:
            yield number, row


def rows_to_records(
    numbered: Iterator[tuple[int, Sequence[Any]]],
    header: list[str] | None,
    where: str,
    first_row: int | None,
    last_row: int | None,
    skip_blank_rows: bool,
    columns: list[str] | None,
    row_number_field: str | None,
) -> Iterator[dict[str, Any]]:
    """Records from numbered rows, one at a time; without a given `header` the first row is the header.

    A missing column is reported when the first record is asked for (before any record is given).
    """
    if header is None:
        first = next(numbered, None)
        if first is None:
            return
        cells = list(first[1])
        while cells and (cells[-1] is None or cells[-1] == ""):
            cells.pop()
        header = header_names(cells)
        first_row = first_row or first[0] + 1
    width = len(header)
    keep = list(range(width))
    if columns:
        missing = [c for c in columns if c not in header]
        if missing:
            raise missing_columns(missing, header, where)
        keep = [header.index(c) for c in columns]
    names = [header[i] for i in keep]
    for number, row in numbered:
        if first_row is not None and number < first_row:
            continue
        if last_row is not None and number > last_row:
            break
        values = [from_cell(value) for value in row[:width]]
        if len(values) < width:
            values.extend([None] * (width - len(values)))
        if skip_blank_rows and blank(values):
            continue
        record = dict(zip(names, [values[i] for i in keep], strict=True))
        if row_number_field:
            record[row_number_field] = number
        yield record


class StreamedRecords:
    """Records read from a file each time they are gone through, never all held in memory at once.

    What `excel.read_rows` returns: a `for_each` goes through 100 000 rows in the memory of a few. It can be
    gone through any number of times, each pass reading a private copy of the file taken when the step ran (so
    every pass sees the same rows, even when the workflow changes the file meanwhile). `len()` is counted once,
    by a streaming pass; `records[i]` reads up to row i. It compares equal to the list of its records.
    """

    def __init__(
        self, read: Callable[[], Generator[dict[str, Any], None, None]], where: str, length: int | None = None
    ) -> None:
        self._read = read
        self.where = where
        self._length = length

    def __iter__(self) -> Generator[dict[str, Any], None, None]:
        # a generator of its own, that holds `self` (and so the private copy) while it is read
        with closing(self._read()) as records:
            yield from records

    def __len__(self) -> int:
        if self._length is None:
            with closing(self._read()) as records:
                self._length = sum(1 for _ in records)
        return self._length

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not isinstance(index, int):
            raise TypeError(_("records are numbered from 0, not by {type}").format(type=type(index).__name__))
        wanted = index + len(self) if index < 0 else index
        if wanted >= 0:
            with closing(self._read()) as records:
                for position, record in enumerate(records):
                    if position == wanted:
                        return record
        raise IndexError(
            _("no record {index}: {where} has {count}").format(index=index, where=self.where, count=len(self))
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StreamedRecords | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<records of {self.where}>"


def put_row(
    worksheet: Worksheet, row: int, values: Sequence[Any], formulas: bool, first_column: int = 1
) -> None:
    """Write `values` into `row` of the sheet from `first_column`; text starting with `=` stays text unless `formulas`."""
    for column, value in enumerate(values, start=first_column):
        cell_value, as_text = to_cell(value, formulas)
        cell = worksheet.cell(row=row, column=column)
        cell.value = cell_value
        if as_text:
            cell.data_type = "s"


def sheet_header(worksheet: Worksheet, header_row: int) -> list[str]:
    """The column names of the header row, trailing empty cells left out."""
    cells = [cell.value for cell in worksheet[header_row]] if worksheet.max_row >= header_row else []
    while cells and (cells[-1] is None or cells[-1] == ""):
        cells.pop()
    return header_names(cells)


def last_used_row(worksheet: Worksheet, header_row: int) -> int:
    """The number of the last row holding a value, or the header row when there is none."""
    for number in range(worksheet.max_row, header_row, -1):
        if any(cell.value not in (None, "") for cell in worksheet[number]):
            return number
    return header_row


class SheetTable:
    """Cells of a loaded worksheet, addressed by row number and 0-based column."""

    def __init__(self, worksheet: Worksheet, header_row: int, formulas: bool) -> None:
        self.worksheet = worksheet
        self.header_row = header_row
        self.formulas = formulas

    def key_values(self, column: int) -> Iterator[tuple[int, Any]]:
        """Each data row's number and its value in `column`."""
        cells = self.worksheet.iter_rows(min_row=self.header_row + 1, min_col=column + 1, max_col=column + 1)
        for number, (cell,) in enumerate(cells, start=self.header_row + 1):
            yield number, from_cell(cell.value)

    def set(self, row: int, column: int, value: Any) -> None:
        """Write `value` into a cell."""
        put_row(self.worksheet, row, [value], self.formulas, first_column=column + 1)


class GridTable:
    """Fields of a CSV file read whole, addressed like `_SheetTable`."""

    def __init__(self, grid: list[list[str]], header_row: int) -> None:
        self.grid = grid
        self.header_row = header_row

    def key_values(self, column: int) -> Iterator[tuple[int, Any]]:
        """Each data row's number and its value in `column`."""
        for number in range(self.header_row + 1, len(self.grid) + 1):
            row = self.grid[number - 1]
            yield number, from_csv(row[column]) if column < len(row) else None

    def set(self, row: int, column: int, value: Any) -> None:
        """Write `value` into a cell."""
        line = self.grid[row - 1]
        if len(line) <= column:
            line.extend([""] * (column + 1 - len(line)))
        line[column] = value
