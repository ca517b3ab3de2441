"""Start-up time of the `robo` commands people run most, as ratios to a bare Python start, and the heavy modules
`robo validate` imports (it needs none of them: the packages used in part export their names lazily).

Each command runs `REPEATS` times, the variants interleaved (`bench.table.interleaved`); the median is kept. The
workflow is one `log` step in a temporary folder (its own run store and logs).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.table import Row, interleaved, load_average, row

REPEATS = 7
WORKFLOW = "name: Démarrage\nsteps:\n  - log: bonjour\n"
HEAVY = ("sqlalchemy", "alembic", "playwright", "pyautogui", "cv2", "openpyxl", "docx", "pypdfium2")
COMMANDS: dict[str, list[str]] = {
    "python": ["-c", "pass"],
    "robo --help": ["-m", "runner.cli", "--help"],
    "robo validate": ["-m", "runner.cli", "validate", "demarrage.yaml"],
    "robo run": ["-m", "runner.cli", "run", "demarrage.yaml"],
}
# Run by `python -c`: `robo validate` (which must succeed), then the heavy modules it imported, as JSON on the last
# line.
_PROBE = (
    "import json, sys; sys.argv = ['robo', 'validate', 'demarrage.yaml']; from runner.cli import main\n"
    "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
    f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
)
# The tree this module is in, whatever tree the virtualenv's editable install points to.
_ENVIRONMENT = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}


def _seconds(args: list[str], folder: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args], cwd=folder, capture_output=True, check=False, env=_ENVIRONMENT
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.decode(errors='replace')[-500:]}")
    return seconds


def run() -> dict[str, Any]:
    loads = [load_average()]
    with tempfile.TemporaryDirectory(prefix="robo-bench-startup-") as name:
        folder = Path(name)
        (folder / "demarrage.yaml").write_text(WORKFLOW, encoding="utf-8")
        times: dict[str, list[float]] = {command: [] for command in COMMANDS}
        for command in interleaved(list(COMMANDS), REPEATS):
            times[command].append(_seconds(COMMANDS[command], folder))
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
            env=_ENVIRONMENT,
        )
        heavy = json.loads(probe.stdout.strip().splitlines()[-1])
    loads.append(load_average())
    median = {command: statistics.median(seconds) for command, seconds in times.items()}
    bare = median["python"]
    table: list[Row] = [
        row(f"start: {command}, seconds (Python alone {bare:.3f} s)", median[command], "s", load=loads)
        for command in COMMANDS
        if command != "python"
    ]
    table.append(
        row(
            "start: heavy modules robo validate imports",
            len(heavy),
            "modules",
            ("<=", 0),
            load=loads,
            note=", ".join(heavy),
        )
    )
    return {
        "median_seconds": {command: round(seconds, 3) for command, seconds in median.items()},
        "over_python_start": {command: round(seconds / bare, 1) for command, seconds in median.items()},
        "heavy_modules_imported_by_validate": heavy,
        "table": table,
    }
