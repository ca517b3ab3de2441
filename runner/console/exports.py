"""A run or a filtered list of runs as CSV and JSON, and a run's items as a JUnit XML file (one test case per item,
so a CI server or a test dashboard reads a run like a test suite)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from typing import Any

from runner.events import ItemStatus, is_failed

RUN_COLUMNS = ("id", "workflow", "status", "started_at", "finished_at", "duration", "resumed_from", "error")
ITEM_COLUMNS = (
    "run_id",
    "loop",
    "key",
    "position",
    "status",
    "started_at",
    "finished_at",
    "duration",
    "error",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run a cell beginning so


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def as_csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    """Rows as CSV (a header line, then one line per row); a cell a spreadsheet would read as a formula is
    prefixed with `'` so that opening the export never runs data."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)


def _xml(value: Any) -> str:
    """Text an XML 1.0 file can hold: its forbidden control characters dropped."""
    return "".join(char for char in str(value or "") if char in "\t\n\r" or ord(char) >= 0x20)


def as_junit(run: dict[str, Any], run_items: list[dict[str, Any]]) -> bytes:
    """The run as a JUnit `testsuite`: each item a `testcase`, a failed one with its error, one to check or
    skipped as `skipped` with why."""
    failures = sum(1 for row in run_items if is_failed(row["status"]))
    suite = ET.Element(
        "testsuite",
        name=_xml(run["workflow"]),
        id=str(run["id"]),
        tests=str(len(run_items)),
        failures=str(failures),
        errors="0",
        skipped=str(
            sum(1 for row in run_items if row["status"] in (ItemStatus.TO_CHECK, ItemStatus.SKIPPED))
        ),
        time=f"{run.get('duration') or 0:.3f}",
        timestamp=str(run["started_at"]),
    )
    for row in run_items:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_xml(row["loop"]),
            name=_xml(row["key"]),
            time=f"{row.get('duration') or 0:.3f}",
        )
        if is_failed(row["status"]):
            failure = ET.SubElement(case, "failure", type=str(row["status"]), message=_xml(row.get("error")))
            failure.text = _xml(row.get("error"))
        elif row["status"] in (ItemStatus.TO_CHECK, ItemStatus.SKIPPED):
            ET.SubElement(case, "skipped", message=str(row["status"]))
    written: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return written
