"""`robo runs` names the store it reads, makes none, and finds a run by its whole id, a unique beginning or `last`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.running import robo_process

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = "name: Un pas\nsteps:\n  - log: bonjour\n"


def robo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return robo_process(*args, cwd=cwd, without=("ROBO_STORE_URL", "ROBO_LOGS"))


def two_runs(folder: Path) -> list[str]:
    """Run a workflow twice in `folder`; the run ids, oldest first."""
    (folder / "un-pas.yaml").write_text(WORKFLOW, encoding="utf-8")
    for _ in range(2):
        assert robo("run", "un-pas.yaml", "--new", cwd=folder).returncode == 0
    listed = robo("runs", "list", cwd=folder)
    ids = [line.split()[1] for line in listed.stdout.splitlines() if "Un pas" in line]
    return ids[::-1]


def test_runs_list_where_nothing_was_recorded_says_so_and_makes_no_logs_folder(tmp_path: Path) -> None:
    result = robo("runs", "list", cwd=tmp_path)

    assert result.returncode == 1
    assert "no run was recorded in logs" in result.stderr and "--logs" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_runs_list_names_its_store_and_shows_whole_ids(tmp_path: Path) -> None:
    first, second = two_runs(tmp_path)

    listed = robo("runs", "list", cwd=tmp_path)

    assert f"runs recorded in sqlite:///{tmp_path / 'logs' / 'robo.db'}" in listed.stderr
    assert len(first) == len(second) > 20  # whole ids: 20261130-163132-5b306a…
    shown = robo("runs", "show", first, "--format", "json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr


def test_last_names_the_newest_run_and_a_unique_beginning_names_its_run(tmp_path: Path) -> None:
    first, second = two_runs(tmp_path)

    last = robo("runs", "show", "last", cwd=tmp_path)
    assert last.returncode == 0, last.stderr
    assert f"run {second} of 'Un pas'" in last.stdout

    beginning = next(n for n in range(len(first)) if first[:n] != second[:n])
    by_beginning = robo("runs", "show", first[:beginning], cwd=tmp_path)
    assert f"run {first} of 'Un pas'" in by_beginning.stdout, by_beginning.stderr

    shared = first[: beginning - 1]  # the beginning both ids share
    several = robo("runs", "show", shared, cwd=tmp_path)
    assert several.returncode == 1
    assert f"'{shared}' begins the ids of several runs: {first}, {second}" in several.stderr
