"""`python -m tests.mock_desktop` without a usable display says so and exits, instead of a traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.mock_desktop.fixtures import client_command

ROOT = Path(__file__).resolve().parents[2]


def test_a_display_that_does_not_exist_is_an_error_of_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        client_command(tmp_path / "dossiers.sqlite", ":4242"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot open the client's window:"), result.stderr
    assert "Traceback" not in result.stderr
