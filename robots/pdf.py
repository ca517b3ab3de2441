"""The `pdf` robot: read, count, merge and split PDF files, read and fill their forms (pypdf).

Pages are numbered from 1, as a PDF reader shows them; ranges are written "1-3", "5" or "7-" (to the last page).
Every file is written to a temporary file first and replaces the output only once complete.

Errors say which kind they are: a missing file is a `ConfigurationError`, as is a form field name the form does
not have; a file that is not a readable PDF, an encrypted one or a page that does not exist is a
`BusinessError` (the document is refused).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robots.kit import (
    BusinessError,
    ConfigurationError,
    ConfinedPath,
    Robot,
    _,
    action,
    atomic_file,
    ngettext,
)

if TYPE_CHECKING:
    from pypdf import PdfReader, PdfWriter

_RANGE = re.compile(r"^\s*(\d*)\s*(?:(-)\s*(\d*))?\s*$")
_RADIO_FLAG = 1 << 15


def parse_ranges(text: str | list[str], page_count: int, source: str) -> list[tuple[int, int]]:
    """Ranges like "1-3,5,7-" as (first, last) page numbers counted from 1; raises a `BusinessError`."""
    parts = text if isinstance(text, list) else text.split(",")
    ranges = []
    for part in parts:
        match = _RANGE.match(str(part))
        if not match or not (match[1] or match[3]):
            raise BusinessError(
                _("{part} is not a page range").format(part=repr(part)),
                hint=_('write "3", "1-3" or "7-" (from page 7 to the last one)'),
            )
        first = int(match[1]) if match[1] else 1
        last = (int(match[3]) if match[3] else page_count) if match[2] else first
        if first < 1 or last < first:
            raise BusinessError(
                _("{part} is not a page range: pages count from 1, the first one comes first").format(
                    part=repr(part)
                )
            )
        if last > page_count:
            raise BusinessError(
                ngettext(
                    "{source} has {n} page: there is no page {page}",
                    "{source} has {n} pages: there is no page {page}",
                    page_count,
                ).format(source=source, n=page_count, page=last),
                hint=_(
                    'check the page numbers, or write the range as "{first}-" to stop at the last page'
                ).format(first=first),
            )
        ranges.append((first, last))
    return ranges


def _field_value(field: Mapping[str, Any]) -> Any:
    value = field.get("/V")
    if field.get("/FT") == "/Btn":
        state = str(value or "/Off").lstrip("/")
        if int(field.get("/Ff", 0)) & _RADIO_FLAG:
            return None if state == "Off" else state
        return state != "Off"
    if isinstance(value, list):
        return [str(item) for item in value]
    return "" if value is None else str(value)


def _widget_states(reader: PdfReader) -> dict[str, list[str]]:
    """For each field with widgets on the pages, the names of its "on" appearances (e.g. "/Yes", "/Oui")."""
    states: dict[str, list[str]] = {}
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            widget = annotation.get_object()
            if widget.get("/Subtype") != "/Widget":
                continue
            names, node = [], widget
            while node is not None:
                if "/T" in node:
                    names.append(str(node["/T"]))
                node = node.get("/Parent").get_object() if "/Parent" in node else None
            normal = (widget.get("/AP") or {}).get("/N") or {}
            found = states.setdefault(".".join(reversed(names)), [])
            if hasattr(normal, "keys"):
                found.extend(str(name) for name in normal if str(name) != "/Off" and str(name) not in found)
    return states


class Pdf(Robot):
    """Read, merge and split PDF files; read and fill PDF forms (pypdf)."""

    name = "pdf"

    def _read(self, path: str) -> tuple[Path, PdfReader]:
        from pypdf import PdfReader
        from pypdf.errors import FileNotDecryptedError, PdfReadError

        source = self.context.input_file(path, _("PDF file"))
        try:
            reader = PdfReader(source)
            if reader.is_encrypted and not reader.decrypt(""):
                raise FileNotDecryptedError("a password is needed")
            len(reader.pages)  # reads the page tree now, so a damaged file fails here
        except FileNotDecryptedError:
            raise BusinessError(
                _("{name} is protected by a password").format(name=source.name),
                hint=_("ask for an unprotected copy of the document"),
            ) from None
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            raise BusinessError(
                _("{name} is not a readable PDF file").format(name=source.name),
                hint=_("check that the file is a PDF and was completely downloaded or received"),
                cause=[str(exc)],
            ) from None
        return source, reader

    def _write(self, writer: PdfWriter, target: Path, action_name: str) -> str:
        with atomic_file(target, run_id=self.context.run_id) as handle:
            writer.write(handle)
        self.context.record_artifact(
            target, "output", _("written by pdf.{action}").format(action=action_name)
        )
        return str(target.resolve())

    @action
    def page_count(self, path: str) -> int:
        """Count the pages of a PDF file.

        Args:
            path: The PDF file, relative to the workflow's folder unless absolute.

        Returns:
            The number of pages.
        """
        return len(self._read(path)[1].pages)

    @action
    def read_text(self, path: str, pages: str | None = None) -> str:
        """Read the text of a PDF file (text a scanner produced as an image is not read: no OCR).

        Args:
            path: The PDF file, relative to the workflow's folder unless absolute.
            pages: Which pages, e.g. "1", "2-3" or "1,4-" (from page 4 to the last one); by default all.

        Returns:
            The text, the pages separated by a form-feed character (page break).
        """
        source, reader = self._read(path)
        numbers: Iterable[int] = range(1, len(reader.pages) + 1)
        if pages is not None:
            ranges = parse_ranges(pages, len(reader.pages), source.name)
            numbers = [number for first, last in ranges for number in range(first, last + 1)]
        return "\f".join(reader.pages[number - 1].extract_text() for number in numbers)

    @action(side_effects=True, idempotent=True)
    def merge(self, paths: list[str], output: ConfinedPath) -> str:
        """Put several PDF files one after the other in a new file.

        Args:
            paths: The PDF files, in order, each relative to the workflow's folder unless absolute.
            output: The PDF to write; folders are created, an existing file is replaced.

        Returns:
            The absolute path of the written file.
        """
        from pypdf import PdfWriter

        if not paths:
            raise BusinessError(_("pdf.merge: there is no file to merge"))
        readers = [self._read(path) for path in paths]
        writer = PdfWriter()
        for _source, reader in readers:
            writer.append(reader)
        target = self.context.resolve_path(output)
        result = self._write(writer, target, "merge")
        self.context.log(
            _("merged {files} files ({pages} pages) into {name}").format(
                files=len(readers), pages=len(writer.pages), name=target.name
            )
        )
        return result

    @action(side_effects=True)
    def split(self, path: str, output_dir: ConfinedPath, ranges: list[str] | None = None) -> list[str]:
        """Cut a PDF file into several: one per page, or one per page range.

        Each file is named after the source and its pages: `courrier_p2.pdf`, `courrier_p1-3.pdf`.

        Args:
            path: The PDF file, relative to the workflow's folder unless absolute.
            output_dir: The folder to write the files into (created if needed); files of the same name are replaced.
            ranges: One range per file to make, e.g. ["1-2", "3", "4-"]; by default one file per page.

        Returns:
            The absolute paths of the written files, in order.
        """
        from pypdf import PdfWriter

        source, reader = self._read(path)
        count = len(reader.pages)
        chosen = parse_ranges(ranges, count, source.name) if ranges else [(n, n) for n in range(1, count + 1)]
        folder = self.context.resolve_path(output_dir)
        written = []
        for first, last in chosen:
            writer = PdfWriter()
            for number in range(first, last + 1):
                writer.add_page(reader.pages[number - 1])
            suffix = f"{first}" if first == last else f"{first}-{last}"
            written.append(self._write(writer, folder / f"{source.stem}_p{suffix}.pdf", "split"))
        self.context.log(
            ngettext("split {name} into {n} file", "split {name} into {n} files", len(written)).format(
                name=source.name, n=len(written)
            )
        )
        return written

    @action
    def read_form_fields(self, path: str) -> dict[str, Any]:
        """Read the fields of a PDF form (AcroForm) and their values.

        Args:
            path: The PDF file, relative to the workflow's folder unless absolute.

        Returns:
            Each field's value by its name: text for text fields and lists, true/false for check boxes, the
            chosen option (or null) for radio buttons; an empty mapping when the file has no form.
        """
        _, reader = self._read(path)
        fields = reader.get_fields() or {}
        return {name: _field_value(field) for name, field in fields.items() if field.get("/FT")}

    @action(side_effects=True, idempotent=True)
    def fill_form(
        self, path: str, values: dict[str, Any], output: ConfinedPath, flatten: bool = False
    ) -> str:
        """Fill the fields of a PDF form (AcroForm) and write the filled copy.

        Args:
            path: The PDF form, relative to the workflow's folder unless absolute.
            values: The value of each field to fill, by the field's name: text, or true/false for a check box.
            output: The PDF to write; folders are created, an existing file is replaced.
            flatten: Turn the fields into plain page content, so the values can no longer be changed.

        Returns:
            The absolute path of the written file.
        """
        from pypdf import PdfWriter

        source, reader = self._read(path)
        fields = {name: field for name, field in (reader.get_fields() or {}).items() if field.get("/FT")}
        if not fields:
            raise ConfigurationError(_("{name} has no form fields to fill").format(name=source.name))
        unknown = [name for name in values if name not in fields]
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(fields), n=1)
            raise ConfigurationError(
                _("{name} has no form field named {fields}").format(
                    name=source.name, fields=", ".join(repr(name) for name in unknown)
                ),
                hint=(_("did you mean {name}? ").format(name=repr(close[0])) if close else "")
                + _("its fields are: {fields}").format(fields=", ".join(fields)),
            )
        states = _widget_states(reader)
        converted = {
            name: self._form_value(source, name, fields[name], value, states.get(name, []))
            for name, value in values.items()
        }
        writer = PdfWriter(clone_from=reader)
        writer.update_page_form_field_values(None, converted, auto_regenerate=False, flatten=flatten)
        if flatten:
            writer.remove_annotations(subtypes="/Widget")
            writer._root_object.pop("/AcroForm", None)
        else:
            writer.set_need_appearances_writer(True)
        target = self.context.resolve_path(output)
        result = self._write(writer, target, "fill_form")
        self.context.log(
            ngettext(
                "filled {n} field of {source} into {target}",
                "filled {n} fields of {source} into {target}",
                len(values),
            ).format(n=len(values), source=source.name, target=target.name)
        )
        return result

    @staticmethod
    def _form_value(source: Path, name: str, field: Any, value: Any, states: list[str]) -> str | list[str]:
        if field.get("/FT") != "/Btn":
            if isinstance(value, list):
                return [str(item) for item in value]
            return "" if value is None else str(value)
        if int(field.get("/Ff", 0)) & _RADIO_FLAG:
            choice = f"/{str(value).lstrip('/')}" if value not in (None, False, "") else "/Off"
            if choice != "/Off" and choice not in states:
                raise BusinessError(
                    _("{file}: {value} is not an option of the field {field}").format(
                        file=source.name, value=repr(value), field=repr(name)
                    ),
                    hint=_("its options are: {options}").format(
                        options=", ".join(state.lstrip("/") for state in states)
                    ),
                )
            return choice
        checked = (
            value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "oui", "yes")
        )
        return (states[0] if states else "/Yes") if checked else "/Off"
