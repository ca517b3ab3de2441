"""Start-up time of `robo --help` and `robo validate`, as ratios to a bare Python start."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any

REPEATS = 7


def _median_seconds(args: list[str]) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run(args, check=False, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run() -> dict[str, Any]:
    bare = _median_seconds([sys.executable, "-c", "pass"])
    help_time = _median_seconds([sys.executable, "-m", "runner.cli", "--help"])
    heavy = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import sys, runner.cli, robots; robots.robot_class('data'); robots.robot_class('http');"
                "print(','.join(m for m in ('playwright','openpyxl','pyautogui','docx','sqlalchemy') if m in sys.modules))"
            ),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {
        "python_start_s": round(bare, 3),
        "robo_help_s": round(help_time, 3),
        "robo_help_over_python_start": round(help_time / bare, 1),
        "heavy_modules_loaded_by_cli_import": heavy or "none",
        "target": "robo --help well under 0.5 s; no heavy module loaded",
    }
