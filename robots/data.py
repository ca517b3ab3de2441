"""The `data` robot: records (lists of mappings), CSV and JSON files.

Values read from files are data: they are returned as they are and never rendered as templates. Errors say which
kind they are: a file that is missing or needs another `encoding` is a `ConfigurationError`; records that do not
fit what a step asks of them (an unknown field, mixed types to sort, duplicate join keys) are a `BusinessError`.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from collections.abc import Iterable
from contextlib import suppress
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from robots.kit import (
    N_,
    BusinessError,
    ConfigurationError,
    ConfinedPath,
    Robot,
    _,
    action,
    atomic_file,
    check_encoding,
    decoded_text,
    detect_delimiter,
    ngettext,
)

Record = dict[str, Any]
Records = list[dict[str, Any]]
Delimiter = Annotated[str, Field(min_length=1, max_length=1)]

_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")
_FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_KINDS = {"number": N_("number"), "date": N_("date"), "text": N_("text")}
"""How an error names the kinds of values a sort compares (other kinds by their Python type)."""


def _missing(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list | dict) and not value)


def _as_text(value: Any) -> str | None:
    """The text a value compares as: 42, 42.0, "42" and " 42 " are all "42"; None and "" are None."""
    if _missing(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, list) and actual != expected:
        return any(_same(actual, choice) for choice in expected)
    return bool(actual == expected) or _as_text(actual) == _as_text(expected)


def _check_fields(records: Records, fields: Iterable[str], action_name: str) -> None:
    known = list(dict.fromkeys(key for record in records for key in record))
    for name in fields:
        if records and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            raise BusinessError(
                _("data.{action}: no record has a field {field}").format(
                    action=action_name, field=repr(name)
                ),
                hint=_("did you mean {field}?").format(field=repr(close[0]))
                if close
                else _("the fields are: {fields}").format(fields=", ".join(known)),
            )


def _number_or_date(text: str) -> tuple[str, Any] | None:
    compact = text.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if _NUMBER.fullmatch(compact):
        return "number", float(compact.replace(",", "."))
    with suppress(ValueError):
        if match := _FRENCH_DATE.fullmatch(text):
            return "date", datetime(int(match[3]), int(match[2]), int(match[1]))
        if len(text) >= 10 and text[4] == "-":
            return "date", datetime.fromisoformat(text)
    return None


def _sort_key(value: Any) -> tuple[str, Any]:
    if isinstance(value, bool | int | float | Decimal):
        return "number", value
    if isinstance(value, date) and not isinstance(value, datetime):
        return "date", datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        return _number_or_date(value.strip()) or ("text", (value.strip().casefold(), value))
    return ("date" if isinstance(value, datetime) else type(value).__name__), value


def _sort_keys(values: list[Any], field: str) -> list[tuple[str, Any]]:
    """One comparable key per value; raises a `BusinessError` when the values cannot be ordered together."""
    keys = [_sort_key(value) for value in values]
    examples = dict(zip((kind for kind, _key in keys), values, strict=True))
    if len(examples) > 1 and all(isinstance(value, str) for value in values):
        return [("text", (value.strip().casefold(), value)) for value in values]  # as a spreadsheet would
    if len(examples) > 1:
        mixed = _(" and ").join(
            _("{kind} (e.g. {example})").format(
                kind=_(_KINDS[kind]) if kind in _KINDS else kind, example=repr(example)
            )
            for kind, example in examples.items()
        )
        raise BusinessError(
            _("data.sort: cannot sort by {field}: it mixes {kinds}").format(field=repr(field), kinds=mixed),
            hint=_("make the values of this field the same kind first, or sort by another field"),
        )
    return keys


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(_("a value of type {type} cannot be written as JSON").format(type=type(value).__name__))


class Data(Robot):
    """Work with records: lists of mappings, CSV and JSON files."""

    name = "data"

    def _record_output(self, path: Path, action_name: str) -> str:
        self.context.record_artifact(path, "output", _("written by data.{action}").format(action=action_name))
        return str(path.resolve())

    @action(in_memory=True)
    def set(self, value: Any) -> Any:
        """Return `value` as it is, to save a literal or computed value under a name.

        Args:
            value: Any value: text, number, list, mapping.

        Returns:
            The value itself.
        """
        return value

    @action(in_memory=True)
    def merge(
        self, base: Records | Record, other: Records | Record, on: str | None = None
    ) -> Records | Record:
        """Merge two mappings, add a mapping's fields to every record, or join two lists of records on a field.

        A join is a left join: every record of `base` is kept, with the fields of the record of `other` that has
        the same value in `on` (compared as text, so 42 and "42" match). A record without a match gets the
        fields of `other` empty. When both sides have a field, the value from `other` wins.

        Args:
            base: The records (or the mapping) to complete.
            other: The records to join, or a mapping whose fields are added to every record of `base`.
            on: The field both lists of records share; required to join two lists.

        Returns:
            A new mapping or a new list of records; the inputs are not changed.
        """
        if isinstance(base, dict):
            if not isinstance(other, dict):
                raise BusinessError(_("data.merge: a mapping can only be merged with another mapping"))
            return {**base, **other}
        if isinstance(other, dict):
            return [{**record, **other} for record in base]
        if on is None:
            raise BusinessError(
                _("data.merge: joining two lists of records needs `on`, the field they share")
            )
        _check_fields(base, [on], "merge")
        _check_fields(other, [on], "merge")
        index: dict[str, Record] = {}
        for record in other:
            key = _as_text(record.get(on))
            if key is not None and index.setdefault(key, record) is not record:
                raise BusinessError(
                    _("data.merge: several records of `other` have {field} = {value}").format(
                        field=on, value=repr(key)
                    ),
                    hint=_("a join needs one record per value of `on`; filter `other` first"),
                )
        empty = dict.fromkeys(key for record in other for key in record)
        merged = []
        for record in base:
            match = index.get(_as_text(record.get(on)) or "")
            merged.append({**record, **match} if match is not None else {**empty, **record})
        return merged

    @action(in_memory=True)
    def filter(
        self,
        records: Records,
        where: dict[str, Any] | None = None,
        where_not: dict[str, Any] | None = None,
        not_empty: list[str] | None = None,
    ) -> Records:
        """Keep the records that match every condition given.

        Values are compared as text without the spaces around them, so 42 matches "42"; case matters.
        A list of values means "any of these"; `null` means "missing or empty".

        Args:
            records: The records to filter.
            where: Fields and the value each must have, e.g. {statut: nouveau, service: [RH, DSI]}.
            where_not: Fields and a value each must not have, e.g. {statut: clos}.
            not_empty: Fields that must be present and not empty, e.g. [email, siret].

        Returns:
            The matching records, in their original order.
        """
        where, where_not, not_empty = where or {}, where_not or {}, not_empty or []
        _check_fields(records, [*where, *where_not, *not_empty], "filter")
        return [
            dict(record)
            for record in records
            if all(_same(record.get(field), value) for field, value in where.items())
            and not any(_same(record.get(field), value) for field, value in where_not.items())
            and not any(_missing(record.get(field)) for field in not_empty)
        ]

    @action(in_memory=True)
    def sort(self, records: Records, by: str | list[str], descending: bool = False) -> Records:
        """Sort records by one or more fields; records missing a value come last.

        Numbers written as text (as CSV files give them, "12,5" included) sort as numbers when every value of
        the field is one; dates (31/12/2024 or 2024-12-31) sort as dates likewise; other text ignores case.

        Args:
            records: The records to sort.
            by: The field to sort by, or a list of fields (the first one decides, the next break ties).
            descending: Largest (or latest, or last in alphabetical order) first.

        Returns:
            A new, sorted list of records.
        """
        fields = [by] if isinstance(by, str) else list(by)
        _check_fields(records, fields, "sort")
        ordered = list(records)
        for field in reversed(fields):  # successive stable sorts: the first field ends up deciding
            present = [record for record in ordered if not _missing(record.get(field))]
            keys = _sort_keys([record[field] for record in present], field)
            try:
                pairs = sorted(
                    zip(keys, present, strict=True), key=lambda pair: pair[0][1], reverse=descending
                )
            except TypeError as exc:
                raise BusinessError(
                    _("data.sort: cannot sort by {field}: {problem}").format(field=repr(field), problem=exc)
                ) from None
            ordered = [record for _key, record in pairs] + [r for r in ordered if _missing(r.get(field))]
        return [dict(record) for record in ordered]

    @action(in_memory=True)
    def select(
        self, records: Records, fields: list[str] | None = None, rename: dict[str, str] | None = None
    ) -> Records:
        """Keep only some fields of every record, in the given order, and rename fields.

        Args:
            records: The records to reshape.
            fields: The fields to keep, in this order (all of them when not given).
            rename: Old field names and their new names, e.g. {nom_complet: nom}.

        Returns:
            New records with the chosen fields; a field a record lacks is empty.
        """
        rename = rename or {}
        _check_fields(records, [*(fields or []), *rename], "select")
        chosen = [{name: record.get(name) for name in fields} if fields else record for record in records]
        return [{rename.get(key, key): value for key, value in record.items()} for record in chosen]

    @action
    def read_csv(self, path: str, delimiter: Delimiter | None = None, encoding: str = "utf-8-sig") -> Records:
        """Read a CSV file into records keyed by the header row's names.

        Empty cells (or cells holding only spaces) become null; empty lines are skipped.

        Args:
            path: The file, relative to the workflow's folder unless absolute.
            delimiter: The separator between cells; detected from the header row (";", ",", tab or "|")
                when not given.
            encoding: The file's text encoding; use cp1252 for files saved by Excel on Windows.

        Returns:
            A list of records, one per line after the header.
        """
        source = self.context.input_file(path, "input file")
        text = decoded_text(source, encoding)
        if delimiter is None:
            delimiter = detect_delimiter(text.split("\n", 1)[0])
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            header = next(reader, [])
            names = [cell.strip() or f"column_{number}" for number, cell in enumerate(header, 1)]
            if len(set(names)) != len(names):
                duplicated = sorted({name for name in names if names.count(name) > 1})
                raise BusinessError(
                    _("{path}: line 1: the header repeats {names}").format(
                        path=source, names=", ".join(duplicated)
                    )
                )
            records: Records = []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) > len(names):
                    raise BusinessError(
                        _("{path}: line {line} has {cells} cells but the header has {columns}").format(
                            path=source, line=reader.line_num, cells=len(row), columns=len(names)
                        ),
                        hint=_("check the separator (detected {delimiter}) and quotes on that line").format(
                            delimiter=repr(delimiter)
                        ),
                    )
                record: Record = dict.fromkeys(names)
                record.update((name, cell) for name, cell in zip(names, row, strict=False) if cell.strip())
                records.append(record)
        except csv.Error as exc:
            raise BusinessError(
                _("{path}: line {line}: {problem}").format(path=source, line=reader.line_num, problem=exc)
            ) from None
        self.context.log(
            ngettext(
                "read {n} record from {path} (separator {delimiter})",
                "read {n} records from {path} (separator {delimiter})",
                len(records),
            ).format(n=len(records), path=source, delimiter=repr(delimiter))
        )
        return records

    @action(side_effects=True, idempotent=True)
    def write_csv(
        self,
        records: Records,
        path: ConfinedPath,
        delimiter: Delimiter = ";",
        encoding: str = "utf-8-sig",
        columns: list[str] | None = None,
    ) -> str:
        """Write records to a CSV file, replacing it only once completely written.

        Args:
            records: The records to write, one per line.
            path: The file, relative to the workflow's folder unless absolute; folders are created.
            delimiter: The separator between cells (";" opens directly in a French Excel).
            encoding: The text encoding; utf-8-sig lets Excel recognise accented letters.
            columns: The columns, in order; by default every field, in the order first seen.

        Returns:
            The absolute path of the written file.
        """
        target = self.context.resolve_path(path)
        names = columns or list(dict.fromkeys(key for record in records for key in record))
        check_encoding(encoding)
        with atomic_file(target, "w", run_id=self.context.run_id, encoding=encoding, newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            if names:
                writer.writerow(names)
            for number, record in enumerate(records, 1):
                extra = [key for key in record if key not in names]
                if extra:
                    raise BusinessError(
                        _("data.write_csv: record {number} has fields that are not columns: {fields}").format(
                            number=number, fields=", ".join(extra)
                        ),
                        hint=_("add them to `columns`, or keep only the wanted fields with data.select"),
                    )
                cells = [_cell(record.get(name)) for name in names]
                try:
                    writer.writerow(cells)
                except UnicodeEncodeError as exc:
                    raise ConfigurationError(
                        _("{path}: record {number} holds {character}, which {encoding} cannot write").format(
                            path=target,
                            number=number,
                            character=repr(exc.object[exc.start]),
                            encoding=encoding,
                        ),
                        hint=_("use `encoding: utf-8-sig`, which can write every character"),
                    ) from None
        return self._record_output(target, "write_csv")

    @action
    def read_json(self, path: str) -> Any:
        """Read a JSON file (UTF-8).

        Args:
            path: The file, relative to the workflow's folder unless absolute.

        Returns:
            The data the file holds: a mapping, a list, text, a number, true/false or null.
        """
        source = self.context.input_file(path, "input file")
        try:
            return json.loads(decoded_text(source, "utf-8-sig"))
        except json.JSONDecodeError as exc:
            raise BusinessError(
                _("{path}:{line}:{column}: not valid JSON: {problem}").format(
                    path=source, line=exc.lineno, column=exc.colno, problem=exc.msg
                )
            ) from None

    @action(side_effects=True, idempotent=True)
    def write_json(self, data: Any, path: ConfinedPath, indent: Annotated[int, Field(ge=0, le=8)] = 2) -> str:
        """Write data to a JSON file (UTF-8, dates as ISO text), replacing it only once completely written.

        Args:
            data: The data to write.
            path: The file, relative to the workflow's folder unless absolute; folders are created.
            indent: Spaces of indentation per level; 0 writes everything on one line.

        Returns:
            The absolute path of the written file.
        """
        target = self.context.resolve_path(path)
        try:
            text = json.dumps(
                data, indent=indent or None, ensure_ascii=False, allow_nan=False, default=_json_default
            )
        except (TypeError, ValueError) as exc:
            raise BusinessError(
                _("data.write_json: {problem}").format(problem=exc),
                hint=_("NaN, infinity and bytes have no JSON form"),
            ) from None
        with atomic_file(target, "w", run_id=self.context.run_id, encoding="utf-8", newline="\n") as handle:
            handle.write(text + "\n")
        return self._record_output(target, "write_json")
