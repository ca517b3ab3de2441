"""The console's systemd unit example (docs/robo-dashboard.service): its command is one `robo dashboard` takes,
on the loopback address, with the same user, folders and environment file as the schedule service's unit."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

from tests.running import robo_process

DOCS = Path(__file__).resolve().parents[2] / "docs"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd's keys keep their case
    parser.read(DOCS / name, encoding="utf-8")
    return parser


def test_the_unit_starts_a_dashboard_command_robo_accepts(tmp_path: Path) -> None:
    console, schedule = unit("robo-dashboard.service"), unit("robo-schedule.service")
    command = shlex.split(console["Service"]["ExecStart"])
    assert command[0] == "/srv/robo/.venv/bin/robo" and command[1] == "dashboard"
    assert command[command.index("--host") + 1] == "127.0.0.1"
    for key in ("User", "Group", "WorkingDirectory", "EnvironmentFile", "ReadWritePaths"):
        assert console["Service"][key] == schedule["Service"][key], key
    # Every option of the unit's command exists (an unknown one stops the parsing before --help answers).
    checked = robo_process(*command[1:], "--help", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr + checked.stdout
    assert "robo users add" in (DOCS / "robo-dashboard.service").read_text(encoding="utf-8")
