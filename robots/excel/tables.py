"""Named tables (Insert › Table in Excel) found without loading the sheets, so read-only streaming still works.

openpyxl's read-only mode does not expose tables; their definitions are small XML parts of the package, linked
from each worksheet's relationships, so they are read directly from the zip archive.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TableInfo:
    """Where a named table lies: its sheet, its range and its column names."""

    name: str
    sheet: str
    min_col: int
    min_row: int
    max_col: int
    max_row: int
    header_rows: int
    totals_rows: int
    columns: tuple[str, ...]


def workbook_tables(path: Path) -> dict[str, TableInfo]:
    """Every named table of a workbook, by name."""
    from openpyxl.packaging.manifest import Manifest
    from openpyxl.packaging.relationship import get_dependents, get_rels_path
    from openpyxl.reader.excel import _find_workbook_part
    from openpyxl.reader.workbook import WorkbookParser
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.worksheet.table import Table
    from openpyxl.xml.constants import ARC_CONTENT_TYPES
    from openpyxl.xml.functions import fromstring

    tables: dict[str, TableInfo] = {}
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        manifest = Manifest.from_tree(fromstring(archive.read(ARC_CONTENT_TYPES)))
        parser = WorkbookParser(archive, _find_workbook_part(manifest).PartName[1:], keep_links=False)
        parser.parse()
        for sheet, relation in parser.find_sheets():
            rels_path = get_rels_path(relation.target)
            if rels_path not in names:
                continue
            for dependent in get_dependents(archive, rels_path):
                if dependent.Type != Table._rel_type or dependent.target not in names:
                    continue
                table = Table.from_tree(fromstring(archive.read(dependent.target)))
                min_col, min_row, max_col, max_row = range_boundaries(table.ref)
                columns = tuple(column.name for column in table.tableColumns)
                info = TableInfo(
                    name=table.displayName or table.name,
                    sheet=sheet.name,
                    min_col=min_col,
                    min_row=min_row,
                    max_col=max_col,
                    max_row=max_row,
                    header_rows=1 if table.headerRowCount is None else int(table.headerRowCount),
                    totals_rows=int(table.totalsRowCount or 0),
                    columns=columns,
                )
                tables[info.name] = info
                if table.name and table.name != info.name:
                    tables.setdefault(table.name, info)
    return tables
