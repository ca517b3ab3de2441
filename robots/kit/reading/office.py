"""The text of office documents: .docx (python-docx, tables in reading order) and .odt (its content.xml).

Both are zip archives: their declared unpacked size is checked before anything is unpacked, so a zip bomb is
refused without being opened.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from robots.kit.reading.record import DocumentKind, DocumentText, ReadingLimits, guess_language
from robots.kit.reading.refusals import Refusal

if TYPE_CHECKING:
    from docx.table import Table

_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODF_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_CELL_SEPARATOR = " | "


def check_archive(path: Path, limits: ReadingLimits, kind: str) -> None:
    """Refuse an archive that is not one, or whose members would unpack to more than the limit."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Refusal("damaged", {"kind": kind, "reason": str(exc)}) from None
    if unpacked > limits.max_unpacked_mb * 1024 * 1024:
        raise Refusal("too-big", {"limit": limits.max_unpacked_mb})


def read_docx(path: Path, limits: ReadingLimits) -> DocumentText:
    """Headers, then paragraphs and tables in the order they come (a table's row as cells joined by " | ")."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    check_archive(path, limits, "docx")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            document = docx.Document(str(path))
        lines: list[str] = []
        seen_headers: set[str] = set()
        for section in document.sections:
            for paragraph in section.header.paragraphs:
                if paragraph.text.strip() and paragraph.text not in seen_headers:
                    seen_headers.add(paragraph.text)
                    lines.append(paragraph.text)
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend(_table_lines(block))
            else:
                lines.append(block.text)
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, ElementTree.ParseError) as exc:
        raise Refusal("damaged", {"kind": "docx", "reason": str(exc)}) from None
    except Exception as exc:  # lxml's XMLSyntaxError and python-docx's own errors: a damaged document
        if isinstance(exc, MemoryError):
            raise
        raise Refusal("damaged", {"kind": "docx", "reason": f"{type(exc).__name__}: {exc}"}) from None
    text = "\n".join(lines)[: limits.max_characters]
    return DocumentText(text, pages=1, kind=DocumentKind.DOCX, language=guess_language(text))


def _table_lines(table: Table) -> Iterator[str]:
    for row in table.rows:
        cells: list[Any] = []
        for cell in row.cells:
            if not cells or cell._tc is not cells[-1]._tc:  # a merged cell comes once per grid column
                cells.append(cell)
        parts = []
        for cell in cells:
            inner = "\n".join(
                line for table in cell.tables for line in _table_lines(table)
            )  # nested tables, rare but real in forms
            parts.append(" ".join(filter(None, [cell.text.replace("\n", " ").strip(), inner])))
        yield _CELL_SEPARATOR.join(parts)


def read_odt(path: Path, limits: ReadingLimits) -> DocumentText:
    """Headings, paragraphs, lists and tables of the document's body, in order."""
    check_archive(path, limits, "odt")
    try:
        with zipfile.ZipFile(path) as archive:
            root = ElementTree.fromstring(archive.read("content.xml"))
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError) as exc:
        raise Refusal("damaged", {"kind": "odt", "reason": str(exc)}) from None
    lines: list[str] = []
    _odt_blocks(root, lines)
    text = "\n".join(lines)[: limits.max_characters]
    return DocumentText(text, pages=1, kind=DocumentKind.ODT, language=guess_language(text))


def _odt_blocks(element: ElementTree.Element, lines: list[str]) -> None:
    for child in element:
        if child.tag in (f"{{{_ODF_TEXT}}}p", f"{{{_ODF_TEXT}}}h"):
            lines.append(_odt_inline(child))
        elif child.tag == f"{{{_ODF_TABLE}}}table-row":
            cells = []
            for cell in child:
                inner: list[str] = []
                _odt_blocks(cell, inner)
                cells.append(" ".join(line.strip() for line in inner if line.strip()))
            lines.append(_CELL_SEPARATOR.join(cells))
        else:
            _odt_blocks(child, lines)


def _odt_inline(element: ElementTree.Element) -> str:
    parts = [element.text or ""]
    for child in element:
        if child.tag == f"{{{_ODF_TEXT}}}s":
            parts.append(" " * int(child.get(f"{{{_ODF_TEXT}}}c", "1")))
        elif child.tag == f"{{{_ODF_TEXT}}}tab":
            parts.append("\t")
        elif child.tag == f"{{{_ODF_TEXT}}}line-break":
            parts.append("\n")
        elif child.tag != f"{{{_ODF_TEXT}}}note":
            parts.append(_odt_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)
