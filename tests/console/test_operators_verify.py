"""`robo audit verify --operators`: the console's operators' log checked like a run's, tampering found (exit 1)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from runner.console.access import OperatorsLog, operators_log_path
from tests.running import robo_process


def verify(logs: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return robo_process("audit", "verify", *args, "--logs", str(logs), cwd=logs.parent)


def test_the_operators_log_is_proved_intact_then_its_tampering_is_found(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    log = OperatorsLog(logs, fsync=False)
    log.record("camille", "retry", "127.0.0.1", run="R1")
    log.record(
        "camille", "mark", "10.0.0.7", run="R1", key="DOS-7", outcome="done", comment="saisi à la main"
    )
    log.record("dominique", "pause", "10.0.0.8", schedule="saisie/matin")
    path = operators_log_path(logs)

    intact = verify(logs, "--operators")
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.startswith(f"{path}: intact: 3 records")

    original = path.read_bytes()
    lines = original.splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"user":"camille"', b'"user":"quelqu-un"')
    path.write_bytes(b"".join(lines))
    tampered = verify(logs, "--operators")
    assert tampered.returncode == 1
    assert f"{path}: tampered: line 2: the record was changed after it was written" in tampered.stdout

    path.write_bytes(b"".join(original.splitlines(keepends=True)[:2]))  # the last action removed
    truncated = verify(logs, "--operators")
    assert truncated.returncode == 1 and "removed at the end" in truncated.stdout

    path.unlink()  # the whole log removed: its seal says it existed
    removed = verify(logs, "--operators")
    assert removed.returncode == 1
    assert f"error: the operators' log {path} was removed (its seal is still there)" in removed.stderr


def test_no_log_yet_is_said_and_the_command_asks_for_one_target(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    nothing = verify(logs, "--operators")
    assert nothing.returncode == 0, nothing.stderr
    assert f"no operator action was recorded in {logs} yet" in nothing.stdout
    both = verify(logs, "R1", "--operators")
    assert both.returncode == 2
    assert "give a run id or an audit log's path, or --operators (one of them)" in both.stderr
    neither = verify(logs)
    assert neither.returncode == 2
