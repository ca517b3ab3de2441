"""The fleet worker's systemd unit example (docs/robo-worker.service): `robo worker` with the options the issue
gives it, stopped by SIGTERM with time for an item to finish, with the schedule service's user, folders and
environment file, and no credential in the unit itself."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

from runner.fleet.worker import DEFAULT_LEASE
from tests.running import robo_process

DOCS = Path(__file__).resolve().parents[2] / "docs"
WORKER_OPTIONS = {"--queues", "--concurrency", "--name", "--logs", "--store", "--project"}


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd's keys keep their case
    parser.read(DOCS / name, encoding="utf-8")
    return parser


def worker_command() -> list[str]:
    return shlex.split(unit("robo-worker.service")["Service"]["ExecStart"])


def test_the_unit_starts_a_worker_stopped_by_sigterm_with_time_to_finish_an_item() -> None:
    worker, schedule = unit("robo-worker.service"), unit("robo-schedule.service")
    command = worker_command()
    assert command[:2] == ["/srv/robo/.venv/bin/robo", "worker"]
    options = {part.split("=")[0] for part in command[2:] if part.startswith("--")}
    assert options <= WORKER_OPTIONS, options - WORKER_OPTIONS
    service = worker["Service"]
    assert service["KillSignal"] == "SIGTERM"
    assert service["KillMode"] == "mixed"  # SIGTERM to the worker only: it closes its own browsers
    assert int(service["TimeoutStopSec"]) >= DEFAULT_LEASE  # an item's time to finish, at least its lease
    assert service["Restart"] == "on-failure"
    for key in ("User", "Group", "WorkingDirectory", "EnvironmentFile", "ReadWritePaths"):
        assert service[key] == schedule["Service"][key], key


def test_no_credential_is_written_in_the_unit() -> None:
    text = (DOCS / "robo-worker.service").read_text(encoding="utf-8")
    live = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert not [line for line in live if re.search(r"(?i)password|secret|://[^/\s]*:[^@\s]*@", line)]
    assert not [line for line in live if line.startswith("Environment=") and "ROBO_STORE_URL" in line]
    assert "EnvironmentFile=" in text and "ROBO_STORE_URL" in text  # said where it goes: the env file


def test_robo_accepts_the_unit_s_command(tmp_path: Path) -> None:
    checked = robo_process("--lang", "en", *worker_command()[1:], "--help", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr + checked.stdout
