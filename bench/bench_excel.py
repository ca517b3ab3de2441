"""Reading a 100 000-row sheet: excel.read_rows against plain openpyxl, streaming and not, time and peak memory.

One workbook of ROWS rows and 8 columns of mixed types (integers, text with accents, dates, date-times, decimals,
booleans, codes with leading zeros, empty cells) is made once in a temporary folder. Timed in this process,
alternately, best of two: `Excel.read_rows` and a plain openpyxl loop (`load_workbook(read_only=True)`, rows
zipped with the header into dicts). Peak memory: each reader runs alone in a fresh process that reports its peak resident
size (`VmHWM`, else `ru_maxrss`), less the peak of a process that only imports the same modules; openpyxl's ordinary
(non-streaming) load is measured the same way, for comparison.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ROWS = int(os.environ.get("ROBO_BENCH_EXCEL_ROWS", "100000"))
REPEAT = int(os.environ.get("ROBO_BENCH_EXCEL_REPEAT", "2"))

CHILD = r"""
import json, resource, sys
from pathlib import Path
import openpyxl
from robots.kit import RobotContext
from robots.excel import Excel

mode, path = sys.argv[1], Path(sys.argv[2])

def plain(read_only):
    workbook = openpyxl.load_workbook(path, read_only=read_only, data_only=True)
    try:
        rows = workbook.active.iter_rows(values_only=True)
        header = [str(c) for c in next(rows)]
        return [dict(zip(header, row)) for row in rows]
    finally:
        workbook.close()

if mode == "robot":
    records = Excel(RobotContext("b", "b", path.parent, path.parent)).read_rows(str(path))
elif mode == "streaming":
    records = plain(True)
elif mode == "full":
    records = plain(False)
else:
    records = []
def peak_kb():
    # VmHWM is this program's own peak; ru_maxrss would include the parent's size inherited at fork
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

print(json.dumps({"rows": len(records), "maxrss_kb": peak_kb()}))
"""


def make_sheet(path: Path, rows: int) -> None:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Demandes")
    sheet.append(["n", "demandeur", "ville", "reçue le", "rendez-vous", "montant", "urgent", "code"])
    start = dt.date(2026, 1, 1)
    cities = ["Orléans", "Besançon", "Saint-Étienne", "Nîmes", "Cergy"]
    for n in range(rows):
        sheet.append(
            [
                n,
                f"Demandeur n°{n}",
                cities[n % 5],
                start + dt.timedelta(days=n % 365),
                dt.datetime(2026, 3, 1, 9, 0) + dt.timedelta(minutes=15 * (n % 400)),
                round(n * 1.37, 2),
                n % 7 == 0,
                f"{n % 1000:05d}" if n % 3 else None,
            ]
        )
    workbook.save(path)


def child(mode: str, path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def run() -> dict[str, Any]:
    import openpyxl

    from robots.excel import Excel
    from robots.kit import RobotContext

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demandes.xlsx"
        started = time.perf_counter()
        make_sheet(path, ROWS)
        made_s = time.perf_counter() - started

        robot = Excel(RobotContext("b", "b", path.parent, path.parent / "artifacts"))

        def read_robot() -> int:
            return len(robot.read_rows(str(path)))

        def read_plain() -> int:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                rows = workbook.active.iter_rows(values_only=True)
                header = [str(c) for c in next(rows)]
                return len([dict(zip(header, row, strict=False)) for row in rows])
            finally:
                workbook.close()

        times: dict[str, list[float]] = {"robot": [], "plain": []}
        for _ in range(REPEAT):  # alternated, best of REPEAT: other work on the machine skews one run
            for name, read in (("robot", read_robot), ("plain", read_plain)):
                started = time.perf_counter()
                assert read() == ROWS
                times[name].append(time.perf_counter() - started)
        robot_s, plain_s = min(times["robot"]), min(times["plain"])

        baseline = child("imports", path)["maxrss_kb"]
        memory = {mode: child(mode, path) for mode in ("robot", "streaming", "full")}
    assert all(m["rows"] == ROWS for m in memory.values()), memory
    peak_mb = {mode: (m["maxrss_kb"] - baseline) / 1024 for mode, m in memory.items()}
    return {
        "rows": ROWS,
        "columns": 8,
        "file_made_s": round(made_s, 2),
        "read_rows_s": round(robot_s, 2),
        "plain_openpyxl_streaming_s": round(plain_s, 2),
        "time_ratio_robot_vs_plain": round(robot_s / plain_s, 2),
        "rows_per_s_robot": round(ROWS / robot_s),
        "all_times_s": {name: [round(t, 2) for t in runs] for name, runs in times.items()},
        "imports_only_peak_mb": round(baseline / 1024, 1),
        "peak_mb_above_imports_robot": round(peak_mb["robot"], 1),
        "peak_mb_above_imports_plain_streaming": round(peak_mb["streaming"], 1),
        "peak_mb_above_imports_plain_full_load": round(peak_mb["full"], 1),
        "memory_ratio_robot_vs_plain_streaming": round(peak_mb["robot"] / peak_mb["streaming"], 2),
        "memory_ratio_full_load_vs_robot": round(peak_mb["full"] / peak_mb["robot"], 2),
        "note": "both streaming readers return the whole list of records; the robot also types values "
        "(dates at midnight → date, empty text → None)",
    }
