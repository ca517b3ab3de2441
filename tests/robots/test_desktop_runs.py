"""The desktop robot through `robo`: validation without a display, and a run in its own virtual display."""

from __future__ import annotations

from pathlib import Path

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
