"""The `excel` robot: read and write spreadsheets (.xlsx, .xlsm, .csv) as records, never corrupting a file.

Reading streams the sheet (openpyxl's read-only mode), so a 100 000-row sheet is never loaded whole, and returns
typed values: dates as dates, numbers as numbers, empty cells as None. Writing goes to a temporary file beside
the destination, which replaces it only once complete; the writing actions take an optional `output` so that a
workflow can leave its input untouched (the RPA norm) — without `output` the file itself is changed. Macros of an
.xlsm are kept. Text that starts with "=" is written as text, not run as a formula, unless `formulas: true`.

The robot's actions are here; opening, reading and saving its files (kinds, locks, atomic saves) is
`workbooks.py`, cell and CSV values `values.py`, rows as records `rows.py`.
"""

from __future__ import annotations

import shutil
import weakref
from collections.abc import Generator
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from robots.excel.rows import (
    GridTable,
    SheetTable,
    StreamedRecords,
    blank,
    key_text,
    last_used_row,
    put_row,
    sheet_header,
)
from robots.excel.values import (
    check_records,
    find_column,
    record_columns,
    to_csv,
)
from robots.excel.workbooks import WorkbookFiles, kind_of, one_writer_at_a_time, private_copy
from robots.kit import (
    BusinessError,
    ConfigurationError,
    ConfinedPath,
    _,
    action,
    check_not_open,
    missing_file,
    ngettext,
)

Record = dict[str, Any]
Records = list[dict[str, Any]]
RowNumber = Annotated[int, Field(ge=1)]
CellReference = Annotated[str, Field(pattern=r"^\$?[A-Za-z]{1,3}\$?[1-9][0-9]{0,6}$")]
Delimiter = Annotated[str, Field(min_length=1, max_length=1)]


class Excel(WorkbookFiles):
    """Read and write spreadsheets (.xlsx, .xlsm and .csv) as records; writes are atomic and keep macros."""

    name = "excel"

    # -- reading -------------------------------------------------------------------------------------

    @action
    def read_rows(
        self,
        path: str,
        sheet: str | None = None,
        *,
        table: str | None = None,
        header_row: RowNumber = 1,
        first_row: RowNumber | None = None,
        last_row: RowNumber | None = None,
        skip_blank_rows: bool = True,
        columns: list[str] | None = None,
        row_number_field: str | None = None,
        delimiter: Delimiter = ";",
        encoding: str = "utf-8-sig",
    ) -> StreamedRecords:
        """Read a sheet (or a named table) as records keyed by the header row, streaming the file.

        Values keep their type: dates are dates (a date and time at midnight is a date), numbers are numbers,
        empty cells are None. Formulas give the value Excel last computed. A CSV file is read as text, with
        ISO dates (2026-07-23) and plain numbers (12, 3,5 or 3.5; not 0612…, not more than 9 digits, so postcodes
        and SIRET stay text) converted.

        Args:
            path: The .xlsx, .xlsm or .csv file, relative to the workflow's folder unless absolute.
            sheet: The sheet's name; the first (active) sheet when left out.
            table: The name of a table (Insert › Table in Excel) to read instead of a whole sheet; its own
                header gives the field names and `header_row` is not used.
            header_row: The row that holds the column titles (1 = the first row).
            first_row: The first row to read, as numbered in Excel (default: the row after the header).
            last_row: The last row to read, as numbered in Excel (default: the end of the sheet).
            skip_blank_rows: Leave out rows whose cells are all empty.
            columns: Keep only these columns, in this order.
            row_number_field: Add each record's row number (as numbered in Excel) under this field name.
            delimiter: The CSV field separator.
            encoding: The CSV file's encoding (utf-8-sig; cp1252 for files saved by Excel on Windows).

        Returns:
            A list of records, one per row, each a mapping of column title to value; read from the file as a
            loop goes through them, so that a sheet of 100 000 rows is never held in memory at once.
        """
        source, kind = self._existing(path)

        def read(file: Path) -> Generator[Record, None, None]:
            return self._records(
                file, kind, sheet, table, header_row, first_row, last_row, skip_blank_rows, columns,
                row_number_field, delimiter, encoding,
            )  # fmt: skip

        # One streaming pass now checks everything (the file, the sheet or table, the columns) so that a problem
        # is this step's, and counts the records; each later pass reads a private copy taken at this moment.
        with closing(read(source)) as records:
            count = sum(1 for _ in records)
        copy = private_copy(source)
        stream = StreamedRecords(lambda: read(copy), source.name, length=count)
        weakref.finalize(stream, shutil.rmtree, copy.parent, True)
        return stream

    @action
    def list_sheets(self, path: str) -> list[str]:
        """List the sheets of a workbook, in their order (a CSV file has one, named after the file).

        Args:
            path: The .xlsx, .xlsm or .csv file.

        Returns:
            The sheet names.
        """
        source, kind = self._existing(path)
        if kind == "csv":
            return [source.stem]
        workbook = self._load(source, read_only=True)
        try:
            return list(workbook.sheetnames)
        finally:
            workbook.close()

    # -- writing -------------------------------------------------------------------------------------

    @action(side_effects=True)
    @one_writer_at_a_time
    def create_workbook(
        self,
        path: ConfinedPath,
        sheets: list[str] | None = None,
        *,
        columns: list[str] | None = None,
        overwrite: bool = False,
        delimiter: Delimiter = ";",
        encoding: str = "utf-8-sig",
    ) -> str:
        """Create a new, empty workbook (or CSV file), optionally with column titles on its first sheet.

        Args:
            path: The file to create (.xlsx, .xlsm or .csv); its folder is created if needed.
            sheets: The sheet names (default: one sheet named "Feuil1").
            columns: Column titles to write on the first row of the first sheet.
            overwrite: Replace the file if it exists; otherwise an existing file is an error.
            delimiter: The CSV field separator.
            encoding: The CSV file's encoding.

        Returns:
            The path of the new file.
        """
        import openpyxl

        target = self.context.resolve_path(path)
        kind = kind_of(target)
        if target.exists() and not overwrite:
            raise BusinessError(
                _("excel.create_workbook: {path} already exists").format(path=target),
                hint=_("add `overwrite: true` to replace it, or write to it with excel.write_rows"),
            )
        check_not_open(target)
        if kind == "csv":
            return self._write_grid([list(columns or [])], target, "create_workbook", delimiter, encoding)
        if kind == "xlsm":
            raise ConfigurationError(
                _("excel.create_workbook: a new workbook has no macros to keep"),
                hint=_("create a .xlsx, or copy an existing .xlsm with files.copy"),
            )
        names = sheets or ["Feuil1"]
        if len(set(names)) != len(names):
            raise ConfigurationError(
                _("excel.create_workbook: the sheet names repeat"), hint=_("give distinct names")
            )
        workbook = openpyxl.Workbook()
        workbook.active.title = names[0]
        for name in names[1:]:
            workbook.create_sheet(name)
        if columns:
            workbook.active.append(list(columns))
        return self._save(workbook, target, "create_workbook")

    @action(side_effects=True, idempotent=True)
    @one_writer_at_a_time
    def write_rows(
        self,
        path: ConfinedPath,
        records: Records,
        sheet: str | None = None,
        *,
        output: ConfinedPath | None = None,
        columns: list[str] | None = None,
        formulas: bool = False,
        delimiter: Delimiter = ";",
        encoding: str = "utf-8-sig",
    ) -> str:
        """Replace a sheet's content with records: a header row from their keys, then one row per record.

        Without `output` the file itself is changed (it is created if it does not exist); with `output` the
        result is written there and `path` is left as it was. Other sheets are kept, and so are macros.
        Dates are written as Excel dates and numbers as numbers.

        Args:
            path: The .xlsx, .xlsm or .csv file to write (or to start from, when `output` is given).
            records: The records to write, e.g. the result of excel.read_rows or data.select.
            sheet: The sheet to replace or create (default: the first sheet).
            output: Write the result to this file instead of changing `path`.
            columns: The columns to write, in order (default: every key of the records, in order of appearance).
            formulas: Write text that starts with "=" as a formula; by default it is written as plain text,
                so values taken from data never run as formulas.
            delimiter: The CSV field separator.
            encoding: The CSV file's encoding.

        Returns:
            The path of the file written.
        """
        check_records(records, "excel.write_rows")
        source, target, kind, keep_vba = self._targets(path, output, "write_rows")
        header = record_columns(records, columns)
        if kind == "csv":
            rows = [header, *([to_csv(record.get(c), formulas) for c in header] for record in records)]
            return self._write_grid(rows, target, "write_rows", delimiter, encoding)
        with self._writable(source, keep_vba) as workbook:
            worksheet = self._sheet_or_new(workbook, sheet, source)
            if worksheet.max_row > 1 or worksheet.max_column > 1 or worksheet.cell(1, 1).value is not None:
                worksheet.delete_rows(1, worksheet.max_row)
            put_row(worksheet, 1, header, formulas=False)
            for number, record in enumerate(records, start=2):
                put_row(worksheet, number, [record.get(c) for c in header], formulas)
            return self._save(workbook, target, "write_rows")

    @action(side_effects=True)
    @one_writer_at_a_time
    def append_rows(
        self,
        path: ConfinedPath,
        records: Records,
        sheet: str | None = None,
        *,
        output: ConfinedPath | None = None,
        header_row: RowNumber = 1,
        formulas: bool = False,
        delimiter: Delimiter = ";",
        encoding: str = "utf-8-sig",
    ) -> str:
        """Add records after the last row of a sheet, each value under the column of the same title.

        A field the sheet has no column for gets a new column at the end; an empty sheet (or a new file)
        gets a header row first. Without `output` the file itself is changed (created if it does not exist).

        Args:
            path: The .xlsx, .xlsm or .csv file.
            records: The records to add.
            sheet: The sheet (default: the first sheet); it must exist unless the file is new.
            output: Write the result to this file instead of changing `path`.
            header_row: The row that holds the column titles.
            formulas: Write text that starts with "=" as a formula instead of plain text.
            delimiter: The CSV field separator.
            encoding: The CSV file's encoding.

        Returns:
            The path of the file written.
        """
        check_records(records, "excel.append_rows")
        source, target, kind, keep_vba = self._targets(path, output, "append_rows")
        if not source.is_file():
            return self.write_rows(
                path, records, sheet, formulas=formulas, delimiter=delimiter, encoding=encoding
            )
        fields = record_columns(records)
        if kind == "csv":
            grid = self._csv_grid(source, delimiter, encoding)
            while len(grid) < header_row:
                grid.append([])
            header = grid[header_row - 1]
            new = [f for f in fields if f not in header]
            header.extend(new)
            while grid and len(grid) > header_row and blank(grid[-1]):
                grid.pop()
            grid.extend([to_csv(record.get(c), formulas) for c in header] for record in records)
            return self._write_grid(grid, target, "append_rows", delimiter, encoding)
        with self._writable(source, keep_vba) as workbook:
            worksheet = self._sheet(workbook, sheet, source)
            header = sheet_header(worksheet, header_row)
            new = [f for f in fields if f not in header]
            for offset, name in enumerate(new, start=len(header) + 1):
                worksheet.cell(header_row, offset, name)
            header += new
            if new:
                self.context.log(
                    _("excel.append_rows: new columns {columns} in {name}").format(
                        columns=", ".join(new), name=source.name
                    )
                )
            row = last_used_row(worksheet, header_row) + 1
            for number, record in enumerate(records, start=row):
                put_row(worksheet, number, [record.get(c) for c in header], formulas)
            return self._save(workbook, target, "append_rows")

    @action(side_effects=True, idempotent=True)
    @one_writer_at_a_time
    def write_cell(
        self,
        path: ConfinedPath,
        cell: CellReference,
        value: Any,
        sheet: str | None = None,
        *,
        output: ConfinedPath | None = None,
        formulas: bool = False,
        delimiter: Delimiter = ";",
        encoding: str = "utf-8-sig",
    ) -> str:
        """Write one value into one cell, e.g. `cell: B12`. Without `output` the file itself is changed.

        Args:
            path: The .xlsx, .xlsm or .csv file (it must exist).
            cell: The cell's reference, column letters then row number (B12).
            value: The value: text, number, date, true/false, or nothing to empty the cell.
            sheet: The sheet (default: the first sheet).
            output: Write the result to this file instead of changing `path`.
            formulas: Write text that starts with "=" as a formula instead of plain text.
            delimiter: The CSV field separator.
            encoding: The CSV file's encoding.

        Returns:
            The path of the file written.
        """
        from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

        source, target, kind, keep_vba = self._targets(path, output, "write_cell")
        if not source.is_file():
            raise missing_file(source, _("spreadsheet"))
        letters, row = coordinate_from_string(cell.replace("$", "").upper())
        column = column_index_from_string(letters)
        if kind == "csv":
            grid = self._csv_grid(source, delimiter, encoding)
            while len(grid) < row:
                grid.append([])
            line = grid[row - 1]
            line.extend([""] * (column - len(line)))
            line[column - 1] = to_csv(value, formulas)
            return self._write_grid(grid, target, "write_cell", delimiter, encoding)
        with self._writable(source, keep_vba) as workbook:
            worksheet = self._sheet(workbook, sheet, source)
            put_row(worksheet, row, [value], formulas, first_column=column)
            return self._save(workbook, target, "write_cell")

    @action(side_effects=True, idempotent=True)
    @one_writer_at_a_time
    def update_rows(
        self,
        path: ConfinedPath,
        key: str,
        updates: Records,
        sheet: str | None = None,
        *,
        output: ConfinedPath | None = None,
        header_row: RowNumber = 1,
        formulas: bool = False,
        delimiter: Delimiter = ";",
        encoding: str = "utf-8-sig",
    ) -> dict[str, Any]:
        """Write values back into the rows they came from, found by a key column (a status, a file number).

        Each update is a record holding the key and the values to write, e.g.
        `{reference: D1, statut: Saisi, numero: DOS-0042}`: the row whose `reference` is D1 gets "Saisi" under
        `statut` and DOS-0042 under `numero`. Keys are compared as text (42 and "42" match). A column that does
        not exist yet is added at the end of the header. Every row with the key is updated. Without `output`
        the file itself is changed.

        Args:
            path: The .xlsx, .xlsm or .csv file (it must exist).
            key: The title of the column that identifies a row, e.g. "Référence externe".
            updates: The records to write back, each with the key field, e.g. the saved results of a for_each.
            sheet: The sheet (default: the first sheet).
            output: Write the result to this file instead of changing `path`.
            header_row: The row that holds the column titles.
            formulas: Write text that starts with "=" as a formula instead of plain text.
            delimiter: The CSV field separator.
            encoding: The CSV file's encoding.

        Returns:
            A summary: `path` written, `updated` (rows changed), `not_found` (keys no row has),
            `columns_added`.
        """
        check_records(updates, "excel.update_rows")
        source, target, kind, keep_vba = self._targets(path, output, "update_rows")
        if not source.is_file():
            raise missing_file(source, _("spreadsheet"))
        for index, update in enumerate(updates, start=1):
            if key_text(update.get(key)) is None:
                raise BusinessError(
                    _("excel.update_rows: update {index} has no value for the key {key}").format(
                        index=index, key=repr(key)
                    ),
                    hint=_("every update needs its {key}; its fields are: {fields}").format(
                        key=repr(key), fields=", ".join(map(str, update))
                    ),
                )
        with ExitStack() as stack:
            table: SheetTable | GridTable
            if kind == "csv":
                grid = self._csv_grid(source, delimiter, encoding)
                header = grid[header_row - 1] if len(grid) >= header_row else []
                table = GridTable(grid, header_row)
            else:
                workbook = stack.enter_context(self._writable(source, keep_vba))
                worksheet = self._sheet(workbook, sheet, source)
                header = sheet_header(worksheet, header_row)
                table = SheetTable(worksheet, header_row, formulas)
            where = f"{source.name}" if kind == "csv" else f"{source.name}!{worksheet.title}"
            key_column = find_column(key, header, where)
            rows: dict[str, list[int]] = {}
            for number, value in table.key_values(key_column):
                text = key_text(value)
                if text is not None:
                    rows.setdefault(text, []).append(number)
            added: list[str] = []
            updated = 0
            not_found: list[Any] = []
            for update in updates:
                numbers = rows.get(key_text(update[key]) or "")
                if not numbers:
                    not_found.append(update[key])
                    continue
                for field, value in update.items():
                    if field == key:
                        continue
                    try:
                        column = find_column(field, header, where)
                    except BusinessError:
                        header.append(field)
                        added.append(field)
                        column = len(header) - 1
                        table.set(header_row, column, field)
                    for number in numbers:
                        table.set(number, column, value if kind != "csv" else to_csv(value, formulas))
                updated += len(numbers)
            if not_found:
                self.context.log(
                    ngettext(
                        "excel.update_rows: {n} key not found in {where}: {keys}",
                        "excel.update_rows: {n} keys not found in {where}: {keys}",
                        len(not_found),
                    ).format(n=len(not_found), where=where, keys=", ".join(map(str, not_found[:20])))
                )
            if kind == "csv":
                written = self._write_grid(grid, target, "update_rows", delimiter, encoding)
            else:
                written = self._save(workbook, target, "update_rows")
        return {"path": written, "updated": updated, "not_found": not_found, "columns_added": added}

    # -- helpers -------------------------------------------------------------------------------------
