"""The desktop robot through `robo`: validation without a display, and a run in its own virtual display."""

from __future__ import annotations

import re
from pathlib import Path

from robots.desktop import Desktop
from robots.kit import RobotContext
from tests.mock_desktop.fixtures import SCREEN, DisplayInfo
from tests.running import robo_process

TYPED = "Café élève à l'hôpital"

WORKFLOW = """\
name: Saisie dans un terminal
steps:
  - desktop.launch:
      command: "xterm -u8 -geometry 60x4+0+0 -title Saisie -e sh -c 'head -n 1 > sortie.part && mv sortie.part sortie.txt'"
      window: Saisie
      timeout: 30
  - desktop.type_text: {text: "Café élève à l'hôpital\\n"}
  - files.wait_for_file: {folder: ".", pattern: sortie.txt, timeout: 20, stable_for: 0}
"""


def _workflow(tmp_path: Path) -> Path:
    path = tmp_path / "saisie.yaml"
    path.write_text(WORKFLOW, encoding="utf-8")
    return path


def test_validating_a_desktop_workflow_without_display_says_so(tmp_path: Path) -> None:
    done = robo_process("validate", str(_workflow(tmp_path)), cwd=tmp_path, without=["DISPLAY"])
    assert done.returncode != 0
    assert (
        "error[robot-unavailable]: no X display: set DISPLAY or run under Xvfb; see README"
        in done.stderr + done.stdout
    )


def test_a_desktop_workflow_runs_in_its_own_virtual_display(tmp_path: Path) -> None:
    workflow = _workflow(tmp_path)
    done = robo_process(
        "run", "--virtual-display", str(workflow), cwd=tmp_path, without=["DISPLAY"], timeout=180
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert (tmp_path / "sortie.txt").read_text(encoding="utf-8") == TYPED + "\n"


def test_a_workflow_that_asks_for_a_virtual_display_is_valid_and_runs_without_one(tmp_path: Path) -> None:
    workflow = tmp_path / "saisie.yaml"
    workflow.write_text(WORKFLOW.replace("steps:\n", "display: virtual\nsteps:\n", 1), encoding="utf-8")
    checked = robo_process("validate", str(workflow), cwd=tmp_path, without=["DISPLAY"])
    assert checked.returncode == 0, checked.stderr
    done = robo_process("run", str(workflow), cwd=tmp_path, without=["DISPLAY"], timeout=180)
    assert done.returncode == 0, done.stderr + done.stdout
    assert (tmp_path / "sortie.txt").read_text(encoding="utf-8") == TYPED + "\n"


FAIL_SAFE = """\
name: Saisie reprise en main par une personne
steps:
  - for_each: [un, deux, trois]
    on_error: continue
    steps:
      - log: "saisie de {{ item }}"
      - desktop.press: {key: shift}
      - desktop.click: {position: [0, 0]}
        when: "item == 'deux'"
"""


def test_the_fail_safe_stops_the_whole_run_not_only_the_item(
    xvfb_display: DisplayInfo, tmp_path: Path
) -> None:
    """The second item moves the mouse into the corner, as a person taking over would: the fail-safe stops it,
    and the run stops there, though the loop says `on_error: continue` (the third item is never started)."""
    workflow = tmp_path / "reprise.yaml"
    workflow.write_text(FAIL_SAFE, encoding="utf-8")
    try:
        done = robo_process("run", str(workflow), "--logs", str(tmp_path / "logs"), cwd=tmp_path, timeout=120)
    finally:
        _mouse_back_to_the_middle(tmp_path)
    output = done.stderr + done.stdout
    assert done.returncode != 0, output
    assert "stopped by the fail-safe (the mouse was moved to a corner of the screen): the run stops" in output
    (audit,) = (tmp_path / "logs").rglob("audit.jsonl")
    logged = audit.read_text(encoding="utf-8")
    assert "saisie de un" in logged and "saisie de deux" in logged
    assert "saisie de trois" not in logged


def _mouse_back_to_the_middle(folder: Path) -> None:
    gui = Desktop(RobotContext("t", "t", folder, folder / "artifacts")).gui
    gui.FAILSAFE = False
    gui.moveTo(SCREEN[0] // 2, SCREEN[1] // 2)
    gui.FAILSAFE = True


def test_the_desktop_settings_of_the_workflow_reach_the_robot(
    xvfb_display: DisplayInfo, tmp_path: Path
) -> None:
    workflow = tmp_path / "reglages.yaml"
    workflow.write_text(
        "name: Réglages du bureau\ndesktop: {timeout: 1.5, pause: 0}\n"
        "steps:\n  - desktop.wait_for_window: {title: Fenêtre absente}\n",
        encoding="utf-8",
    )
    done = robo_process("run", str(workflow), "--logs", str(tmp_path / "logs"), cwd=tmp_path, timeout=120)
    assert done.returncode != 0
    # waited the workflow's 1.5 s, not the robot's default of 10 s
    assert re.search(
        r"no window titled 'Fenêtre absente' appeared within 1\.[5-9]", done.stderr + done.stdout
    )
