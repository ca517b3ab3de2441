"""A loop run in parallel lanes may not use the desktop robot: the machine has one screen, mouse and keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.language import validate_file

LOOP = """\
name: Saisie
display: virtual
inputs:
  voies: {{type: integer, default: 2}}
steps:
  - for_each: [1, 2]
{parallel}    steps:
      - for_each: [a, b]
        as: lettre
        steps:
{inner}
"""


def _codes(tmp_path: Path, parallel: str, inner: str) -> list[str]:
    path = tmp_path / "saisie.yaml"
    path.write_text(LOOP.format(parallel=parallel, inner=inner), encoding="utf-8")
    result = validate_file(path)
    return [d.code for d in result.errors]


DESKTOP = "          - desktop.press: {key: tab}"
OTHER = "          - log: '{{ lettre }}'"


@pytest.mark.parametrize("parallel", ["    parallel: 2\n", "    parallel: '{{ inputs.voies }}'\n"])
def test_a_parallel_loop_with_a_desktop_step_deep_inside_is_refused(tmp_path: Path, parallel: str) -> None:
    assert _codes(tmp_path, parallel, DESKTOP) == ["one-screen"]


@pytest.mark.parametrize(
    ("parallel", "inner"),
    [("", DESKTOP), ("    parallel: 1\n", DESKTOP), ("    parallel: 4\n", OTHER)],
)
def test_one_lane_or_no_desktop_step_is_accepted(tmp_path: Path, parallel: str, inner: str) -> None:
    assert _codes(tmp_path, parallel, inner) == []
