"""The French tutorial (docs/fr/premier-robot.md) works as written: its commands, its `.env`, its workflow.

A new user copies the page: the sample data command, the two `.env` lines, the workflow block; then
`robo validate` and `robo run` from the robot's folder. Only the intranet's address differs (the tests' mock
intranet listens on a free port, the page says 8700), given as the workflow's own `intranet` input.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.e2e.conftest import ROOT, Bot

pytestmark = pytest.mark.slow
TUTORIAL = ROOT / "docs" / "fr" / "premier-robot.md"


def _blocks(text: str) -> list[tuple[str, str]]:
    """The page's fenced blocks as (language, body)."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```$", text, re.S | re.M)]


def _command(line: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    words = line.split()
    program = [sys.executable, "-m", "runner.cli"] if words[0] == "robo" else [sys.executable]
    return subprocess.run(
        [*program, *words[1:], *extra],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


def _numbers(sheet: Path) -> dict[str, str]:
    """The sheet's "Numéro de dossier" of each "Référence externe"."""
    workbook = load_workbook(sheet, read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    workbook.close()
    header = list(rows[0])
    return {
        row[header.index("Référence externe")]: row[header.index("Numéro de dossier")] for row in rows[1:]
    }


def test_the_tutorial_s_robot_enters_the_five_sample_requests(bot: Bot, tmp_path: Path) -> None:
    page = TUTORIAL.read_text(encoding="utf-8")
    blocks = _blocks(page)
    [workflow] = [body for language, body in blocks if language == "yaml" and body.startswith("# workflow")]
    [sample] = [
        line
        for language, body in blocks
        if language == "sh"
        for line in body.splitlines()
        if "sample-data" in line
    ]
    env_intro = page.index("un fichier nommé `.env`")
    env_block = next(body for language, body in _blocks(page[env_intro:]) if language == "")
    # The page's commands, run where the page runs them.
    made = _command(sample, tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "mon-robot"
    (folder / ".env").write_text(env_block, encoding="utf-8")
    (folder / "saisie.yaml").write_text(workflow, encoding="utf-8")
    checked = _command("robo validate saisie.yaml", folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = _command("robo run saisie.yaml", folder, "--input", f"intranet={bot.intranet.url}")
    assert ran.returncode == 0, ran.stderr
    stored = {case["reference_externe"]: case["numero"] for case in bot.stored()}
    assert len(stored) == 5
    [copy] = folder.glob("**/artifacts/dossiers_saisis.xlsx")
    workbook = load_workbook(copy, read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    workbook.close()
    header = list(rows[0])
    numbers = {
        row[header.index("Référence externe")]: row[header.index("Numéro de dossier")] for row in rows[1:]
    }
    assert numbers == stored
    # The same command again, as a user would by mistake (or a daily job over a sheet that grows): the
    # tutorial's `already_done` finds each request in the intranet, so nothing is entered twice.
    again = _command("robo run saisie.yaml", folder, "--input", f"intranet={bot.intranet.url}")
    assert again.returncode == 0, again.stderr
    assert len(bot.stored()) == 5
    assert again.stderr.count("✓") == 0 and again.stderr.count("– already done") == 5, again.stderr
    # Its copy of the sheet still carries each request's number, kept from the run that entered it.
    [second_copy] = [path for path in folder.glob("**/artifacts/dossiers_saisis.xlsx") if path != copy]
    assert _numbers(second_copy) == stored
