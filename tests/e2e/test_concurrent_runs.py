"""Runs that meet: two resumes of one run, two runs of one workflow, a plain `robo run` after a crash.

Each test drives real `robo run` processes. The workflow "Passage" appends one row per item to a CSV file and
stops at item 3 until the test opens its gate (a file it waits for), so a test knows where a run stands without
sleeping, and a row that is written twice or lost shows in the CSV.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from robots.kit import temporary_path
from runner.record import RunStore
from runner.review import effective_status
from tests.e2e.conftest import ROOT, SECRETS, WORKFLOWS, Bot
from tests.mock_intranet.sample_data import generate_cases, write_xlsx
from tests.waiting import wait_until

pytestmark = pytest.mark.slow
ITEMS = 8
GATED_ITEM = 3

PASSAGE = f"""
name: Passage
inputs:
  dossier: {{type: folder}}
steps:
  - for_each: "{{{{ range({ITEMS}) | list }}}}"
    as: n
    key: n
    steps:
      - when: "n == {GATED_ITEM}"
        files.wait_for_file: {{folder: "{{{{ inputs.dossier }}}}/porte", pattern: ouverte, timeout: 600, stable_for: 0}}
      - excel.append_rows: {{path: "{{{{ inputs.dossier }}}}/sortie.csv", records: [{{numero: "{{{{ n }}}}"}}]}}
"""


@dataclass
class Robo:
    """A `robo` process started by a test, with its error output kept in a file."""

    process: subprocess.Popen[bytes]
    errors: Path

    def stderr(self) -> str:
        return self.errors.read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout: float = 120) -> int:
        return self.process.wait(timeout=timeout)


@dataclass
class Passage:
    """The gated workflow in a folder of its own, and the `robo` processes a test starts on it."""

    folder: Path
    workflow: Path
    logs: Path
    started: list[Robo]

    def robo(self, *args: str) -> Robo:
        errors = self.folder / f"robo-{len(self.started)}.log"
        with errors.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "runner.cli", *args, "--logs", str(self.logs)],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        robo = Robo(process, errors)
        self.started.append(robo)
        return robo

    def run(self, *args: str) -> Robo:
        return self.robo("run", str(self.workflow), "-i", f"dossier={self.folder}", *args)

    def rows(self) -> list[str]:
        output = self.folder / "sortie.csv"
        if not output.is_file():
            return []
        return output.read_text(encoding="utf-8-sig").split()[1:]

    def open_gate(self) -> None:
        (self.folder / "porte" / "ouverte").write_text("")

    def store(self) -> RunStore:
        return RunStore(f"sqlite:///{self.logs / 'robo.db'}")

    def runs(self) -> list[dict[str, object]]:
        listing = subprocess.run(
            [
                sys.executable,
                "-m",
                "runner.cli",
                "runs",
                "list",
                "--format",
                "json",
                "--logs",
                str(self.logs),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            check=True,
        )
        runs: list[dict[str, object]] = json.loads(listing.stdout)
        return runs

    def waiting_at_the_gate(self) -> bool:
        """Whether the last run has recorded the items before the gate done and waits in the gated one."""
        if not (self.logs / "robo.db").is_file():
            return False
        store = self.store()
        try:
            runs = store.list_runs(limit=1)
            statuses = [item["status"] for item in store.run_items(runs[0].id)] if runs else []
        finally:
            store.close()
        return statuses == ["done"] * GATED_ITEM + ["in_progress"]


@pytest.fixture
def passage(tmp_path: Path) -> Iterator[Passage]:
    folder = tmp_path / "passage"
    (folder / "porte").mkdir(parents=True)
    workflow = tmp_path / "passage.yaml"
    workflow.write_text(PASSAGE, encoding="utf-8")
    fixture = Passage(folder, workflow, tmp_path / "logs", [])
    yield fixture
    for robo in fixture.started:
        kill(robo)


def kill(robo: Robo) -> None:
    try:
        os.killpg(robo.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    robo.process.wait(timeout=30)


def crashed_at_the_gate(passage: Passage) -> str:
    """A run killed (-9) while it waits at the gate; its id."""
    first = passage.run()
    wait_until(passage.waiting_at_the_gate, timeout=120)
    kill(first)
    store = passage.store()
    try:
        (record,) = store.list_runs()
        assert effective_status(record) == "crashed"
        return record.id
    finally:
        store.close()


class TestTwoResumesOfOneRun:
    def test_only_one_proceeds_and_the_other_says_who_resumes_it(self, passage: Passage) -> None:
        run_id = crashed_at_the_gate(passage)
        resumes = [passage.run("--resume", run_id), passage.run("--resume", run_id)]
        refused = wait_until(
            lambda: next((r for r in resumes if r.process.poll() is not None), None), timeout=120
        )
        (winner,) = [robo for robo in resumes if robo is not refused]
        assert refused.wait() == 1
        host = os.uname().nodename
        assert f"run {run_id} is being resumed by pid {winner.process.pid} on {host}" in refused.stderr()
        passage.open_gate()
        assert winner.wait() == 0, winner.stderr()
        assert passage.rows() == [str(n) for n in range(ITEMS)]  # each item once, none lost


class TestTwoRunsOfOneWorkflow:
    def test_a_second_run_is_refused_while_the_first_goes(self, passage: Passage) -> None:
        first = passage.run()
        wait_until(passage.waiting_at_the_gate, timeout=120)
        second = passage.run("--new")
        assert second.wait() == 1
        store = passage.store()
        (record,) = store.list_runs()
        store.close()
        host = os.uname().nodename
        expected = f"run {record.id} of this workflow is already going (pid {first.process.pid} on {host})"
        assert expected in second.stderr()
        passage.open_gate()
        assert first.wait() == 0, first.stderr()
        assert passage.rows() == [str(n) for n in range(ITEMS)]

    def test_with_wait_the_second_run_starts_when_the_first_ends(self, passage: Passage) -> None:
        first = passage.run()
        wait_until(passage.waiting_at_the_gate, timeout=120)
        second = passage.run("--new", "--wait")
        wait_until(lambda: "waiting: run" in second.stderr(), timeout=120)
        assert passage.rows() == [str(n) for n in range(GATED_ITEM)]  # the second has not started
        passage.open_gate()
        assert first.wait() == 0, first.stderr()
        assert second.wait() == 0, second.stderr()
        assert passage.rows() == [str(n) for n in range(ITEMS)] * 2  # one after the other, nothing lost

    def test_runs_of_different_workflows_take_turns_on_one_workbook(self, passage: Passage) -> None:
        rows = 30
        runs = []
        for number in range(3):  # three workflows that add rows to the same file
            workflow = passage.folder.parent / f"ajout-{number}.yaml"
            workflow.write_text(
                f"""
name: Ajout {number}
inputs:
  dossier: {{type: folder}}
steps:
  - for_each: "{{{{ range({rows}) | list }}}}"
    as: n
    steps:
      - excel.append_rows: {{path: "{{{{ inputs.dossier }}}}/sortie.csv", records: [{{numero: "{number}-{{{{ n }}}}"}}]}}
""",
                encoding="utf-8",
            )
            runs.append(passage.robo("run", str(workflow), "-i", f"dossier={passage.folder}"))
        assert [robo.wait() for robo in runs] == [0, 0, 0], [robo.stderr() for robo in runs]
        expected = [f"{number}-{n}" for number in range(3) for n in range(rows)]
        assert sorted(passage.rows()) == sorted(expected)  # no row lost


class TestAPlainRunAfterACrash:
    def test_resumes_the_crashed_run_and_enters_nothing_twice(self, passage: Passage) -> None:
        run_id = crashed_at_the_gate(passage)
        passage.open_gate()
        again = passage.run()
        assert again.wait() == 0, again.stderr()
        assert f"resuming run {run_id}, interrupted at " in again.stderr()
        assert passage.rows() == [str(n) for n in range(ITEMS)]
        assert [run["id"] for run in passage.runs()] == [run_id]

    def test_new_starts_a_fresh_run(self, passage: Passage) -> None:
        run_id = crashed_at_the_gate(passage)
        passage.open_gate()
        fresh = passage.run("--new")
        assert fresh.wait() == 0, fresh.stderr()
        assert "resuming" not in fresh.stderr()
        runs = passage.runs()
        assert len(runs) == 2 and runs[1]["id"] == run_id and runs[1]["status"] == "crashed"
        assert f"run {runs[0]['id']} of 'Passage' started" in fresh.stderr()  # its id, at its start
        assert passage.rows() == [str(n) for n in range(GATED_ITEM)] + [str(n) for n in range(ITEMS)]


class TestWhatAResumeLeaves:
    def test_its_own_temporary_files_are_removed_and_another_runs_are_kept(self, passage: Passage) -> None:
        run_id = crashed_at_the_gate(passage)
        output = passage.folder / "sortie.csv"
        ours = [temporary_path(output, run_id), temporary_path(passage.folder / "dossiers.xlsx", run_id)]
        theirs = temporary_path(output, "20260101-000000-abcdef")
        for leftover in [*ours, theirs]:  # what a kill -9 in the middle of a write leaves
            leftover.write_bytes(b"half a file")
        passage.open_gate()
        assert passage.run("--resume", run_id).wait() == 0
        assert [path.exists() for path in ours] == [False, False]
        assert theirs.exists()

    def test_runs_list_shows_the_whole_run(self, passage: Passage) -> None:
        run_id = crashed_at_the_gate(passage)
        passage.open_gate()
        assert passage.run().wait() == 0
        (run,) = passage.runs()
        assert run["id"] == run_id and run["status"] == "succeeded"
        assert run["counts"]["items_done"] == ITEMS  # type: ignore[index]
        store = passage.store()
        audit = Path(str(store.get_run(run_id).run_dir)) / "audit.jsonl"  # type: ignore[union-attr]
        store.close()
        events = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
        (first_start, second_start) = [event["at"] for event in events if event["event"] == "run_started"]
        (last_session,) = [event["duration"] for event in events if event["event"] == "run_finished"]
        assert run["started_at"] <= first_start < second_start
        assert float(run["duration"]) > last_session  # type: ignore[arg-type]
        text = subprocess.run(
            [sys.executable, "-m", "runner.cli", "runs", "list", "--logs", str(passage.logs)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"{ITEMS}/0" in text


def test_a_plain_run_after_a_kill_resumes_and_enters_each_record_once(bot: Bot, tmp_path: Path) -> None:
    cases = generate_cases(30, seed=12)
    source = write_xlsx(cases, tmp_path / "demandes.xlsx")
    logs = tmp_path / "logs"
    args = ["run", str(WORKFLOWS / "saisie_dossiers.yaml"), "-i", f"fichier={source}"]
    args += ["-i", f"intranet={bot.intranet.url}", "--logs", str(logs)]

    def robo(stderr: int = subprocess.PIPE) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "runner.cli", *args],
            cwd=ROOT,
            env={**os.environ, **SECRETS, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )

    first = robo(subprocess.DEVNULL)  # nobody reads it: a full pipe would stop the run
    try:
        wait_until(lambda: len(bot.stored()) >= 5, timeout=240)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate(timeout=30)
    store = RunStore(f"sqlite:///{logs / 'robo.db'}")
    (crashed,) = store.list_runs()
    store.close()
    again = robo()
    try:
        _, errors = again.communicate(timeout=600)
    finally:
        if again.poll() is None:
            os.killpg(again.pid, signal.SIGKILL)
            again.wait(timeout=30)
    assert again.returncode == 0, errors
    assert f"resuming run {crashed.id}, interrupted at " in errors
    references = [case["reference_externe"] for case in bot.stored()]
    assert sorted(references) == sorted(case.reference_externe for case in cases)  # each once
