"""`robo users` as a person or a script runs it: the password never an argument, nor in the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from runner.console.access import Role, UserStore
from runner.record import open_engine, users
from tests.running import ROOT

PASSWORD = "mot de passe très long"


def robo_users(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", "users", *args, "--logs", str(tmp_path / "logs")],
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


def store(tmp_path: Path) -> UserStore:
    return UserStore(open_engine(f"sqlite:///{tmp_path / 'logs' / 'robo.db'}"))


def test_a_user_is_added_listed_changed_and_removed(tmp_path: Path) -> None:
    added = robo_users(tmp_path, "add", "adèle", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "adèle" in added.stdout and "admin" in added.stdout
    assert store(tmp_path).authenticate("adèle", PASSWORD) is not None

    assert robo_users(tmp_path, "set-role", "adèle", "--role", "operator").returncode == 0
    changed = robo_users(tmp_path, "passwd", "adèle", "--password-stdin", stdin="un autre mot de passe\n")
    assert changed.returncode == 0, changed.stderr
    listed = json.loads(robo_users(tmp_path, "list", "--format", "json").stdout)
    assert [(row["name"], row["role"]) for row in listed] == [("adèle", "operator")]
    assert store(tmp_path).authenticate("adèle", PASSWORD) is None
    user = store(tmp_path).authenticate("adèle", "un autre mot de passe")
    assert user is not None and user.role == Role.OPERATOR

    assert robo_users(tmp_path, "remove", "adèle").returncode == 0
    assert "no user" in robo_users(tmp_path, "list").stdout
    engine = store(tmp_path).engine
    with engine.connect() as connection:
        assert connection.execute(select(users)).all() == []


def test_mistakes_are_said_without_a_traceback_nor_the_password(tmp_path: Path) -> None:
    robo_users(tmp_path, "add", "oscar", "--role", "operator", "--password-stdin", stdin=PASSWORD)
    cases = [
        (("add", "oscar", "--role", "operator", "--password-stdin"), PASSWORD, "already exists"),
        (("add", "zoe", "--role", "chef", "--password-stdin"), PASSWORD, "unknown role"),
        (("add", "zoe", "--role", "viewer", "--password-stdin"), "court", "too short"),
        (("add", "../zoe", "--role", "viewer", "--password-stdin"), PASSWORD, "not allowed"),
        (("set-role", "nobody", "--role", "viewer"), "", "there is no user nobody"),
        (("passwd", "nobody", "--password-stdin"), PASSWORD, "there is no user nobody"),
        (("remove", "nobody"), "", "there is no user nobody"),
    ]
    for args, stdin, message in cases:
        answer = robo_users(tmp_path, *args, stdin=stdin)
        assert answer.returncode == 1, (args, answer.stdout, answer.stderr)
        assert message in answer.stderr, (args, answer.stderr)
        for shown in (answer.stdout, answer.stderr):
            assert "Traceback" not in shown and PASSWORD not in shown and "$argon2" not in shown


def test_without_a_terminal_the_password_must_come_from_stdin(tmp_path: Path) -> None:
    answer = robo_users(tmp_path, "add", "zoe", "--role", "viewer", stdin=PASSWORD + "\n" + PASSWORD + "\n")
    assert answer.returncode == 2
    assert "--password-stdin" in answer.stderr
    assert store(tmp_path).get("zoe") is None


def test_there_is_no_password_option(tmp_path: Path) -> None:
    answer = robo_users(tmp_path, "add", "zoe", "--role", "viewer", "--password", PASSWORD)
    assert answer.returncode == 2
    assert store(tmp_path).get("zoe") is None
