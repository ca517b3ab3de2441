"""Runs that change one file take turns: the write lock beside it, and the temporary names that carry the run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from robots.excel import Excel
from robots.files import Files
from robots.kit import ApplicationError, RobotContext, atomic_file, remove_leftovers, temporary_path
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
HOLDER = """
import sys
from pathlib import Path
from robots.kit.locks import one_writer

with one_writer(Path(sys.argv[1]), "20260701-100000-abcdef", "excel.append_rows"):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def excel(robot_context: RobotContext) -> Iterator[Excel]:
    robot = Excel(robot_context)
    yield robot
    robot.close()


@pytest.fixture
def held(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process (another run) holds the write lock of dossiers.csv until its stdin is closed."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "dossiers.csv")],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)
    for pipe in (process.stdin, process.stdout):
        if pipe is not None and not pipe.closed:
            pipe.close()


class TestWriteLock:
    def test_a_write_while_another_run_writes_the_file_fails_saying_which_run(
        self, excel: Excel, tmp_path: Path, held: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("robots.kit.locks.WRITE_LOCK_WAIT", 0.3)
        with pytest.raises(ApplicationError) as error:
            excel.append_rows("dossiers.csv", [{"numero": "1"}])
        assert error.value.message == (
            f"excel.append_rows: run 20260701-100000-abcdef (pid {held.pid}) is already writing dossiers.csv"
        )
        assert not (tmp_path / "dossiers.csv").exists()

    def test_a_write_waits_for_the_other_run_then_goes(
        self, excel: Excel, tmp_path: Path, held: subprocess.Popen[str]
    ) -> None:
        assert held.stdin is not None
        held.stdin.close()  # the other run ends its write
        excel.append_rows("dossiers.csv", [{"numero": "1"}])
        assert (tmp_path / "dossiers.csv").read_text(encoding="utf-8-sig").split() == ["numero", "1"]
        wait_until(lambda: held.poll() is not None)
        assert sorted(path.name for path in tmp_path.iterdir()) == ["dossiers.csv"]  # no lock file left

    def test_a_file_copied_to_a_name_another_run_writes_waits_for_it(
        self,
        robot_context: RobotContext,
        tmp_path: Path,
        held: subprocess.Popen[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr("robots.kit.locks.WRITE_LOCK_WAIT", 0.3)
        (tmp_path / "source.csv").write_text("numero\n1\n", encoding="utf-8")
        files = Files(robot_context)
        with pytest.raises(ApplicationError, match=r"is already writing dossiers\.csv"):
            files.copy("source.csv", "dossiers.csv")
        assert held.stdin is not None
        held.stdin.close()
        assert files.copy("source.csv", "dossiers.csv") == str(tmp_path / "dossiers.csv")
        files.close()


class TestTemporaryFiles:
    def test_carry_the_run_id_and_only_its_own_are_removed(self, tmp_path: Path) -> None:
        (tmp_path / "sous-dossier").mkdir()
        ours = [
            temporary_path(tmp_path / "a.xlsx", "run-1"),
            temporary_path(tmp_path / "sous-dossier" / "b.csv", "run-1"),
        ]
        theirs = temporary_path(tmp_path / "a.xlsx", "run-2")
        for path in [*ours, theirs]:
            path.write_bytes(b"half")
        assert all(".run-1." in path.name for path in ours)
        assert sorted(remove_leftovers("run-1", [tmp_path])) == sorted(ours)
        assert sorted(path.name for path in tmp_path.glob(".*")) == [theirs.name]

    def test_a_write_in_progress_is_named_with_its_run(self, tmp_path: Path) -> None:
        with atomic_file(tmp_path / "out.txt", run_id="run-7") as handle:
            (temporary,) = tmp_path.glob(".out.txt.run-7.*.part")
            handle.write(b"done")
        assert not temporary.exists() and (tmp_path / "out.txt").read_bytes() == b"done"
