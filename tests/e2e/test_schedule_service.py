"""`robo schedule serve` as processes: two services on one database, kill -9 and restart, SIGTERM, the CLI."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner, Result

from runner.cli import app
from runner.record import RunStore
from runner.schedule import ScheduleDatabase, parse_fire_key
from tests.waiting import wait_until

T = TypeVar("T")

WRITE = """\
name: {name}
inputs:
  out: {{type: folder}}
schedule:
  - every: {every}
    misfire: {misfire}
{extra}    inputs: {{out: {out}}}
steps:
  - data.write_json:
      data: {{due: "{{{{ env.ROBO_SCHEDULED_FOR }}}}", run: "{{{{ run.id }}}}"}}
      path: "{{{{ inputs.out }}}}/{{{{ run.id }}}}.json"
"""


class Site:
    """A folder of workflows, a run store, and `robo schedule serve` processes started on them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / "workflows"
        self.folder.mkdir()
        self.out = root / "out"
        self.out.mkdir()
        self.logs = root / "logs"
        self.url = f"sqlite:///{self.logs / 'robo.db'}"
        self.processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    def write(self, name: str, **values: Any) -> None:
        values.setdefault("misfire", "run_once_late")
        values.setdefault("extra", "")
        values.setdefault("name", name.title())
        (self.folder / f"{name}.yaml").write_text(WRITE.format(out=self.out, **values), encoding="utf-8")

    def robo(self, *args: str) -> Result:
        """`robo schedule …`, in this process (the services are the processes under test)."""
        return CliRunner().invoke(app, ["schedule", *args, "--logs", str(self.logs), "--store", self.url])

    def serve(self, *options: str, wait: bool = True) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.root / f"service-{len(self.processes) + 1}.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "runner.cli",
                    "schedule",
                    "serve",
                    str(self.folder),
                    "--logs",
                    str(self.logs),
                    "--store",
                    self.url,
                    "--poll",
                    "0.5",
                    *options,
                ],
                cwd=self.root,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        self.processes.append((process, log))
        if wait:
            self.wait_ready(process, log)
        return process, log

    @staticmethod
    def wait_ready(process: subprocess.Popen[bytes], log: Path) -> None:
        wait_until(lambda: " INFO ready: " in log.read_text() or process.poll() is not None)
        assert process.poll() is None, log.read_text()

    def fires(self) -> list[dict[str, Any]]:
        db = ScheduleDatabase(self.url)
        try:
            return db.fires()
        finally:
            db.close()

    def outputs(self) -> list[dict[str, Any]]:
        return [json.loads(path.read_text()) for path in self.out.glob("*.json")]

    def stop_all(self) -> None:
        for process, _log in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _log in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    site = Site(tmp_path)
    yield site
    site.stop_all()


def due_epoch(row: dict[str, Any]) -> float:
    return parse_fire_key(row["fire_time"]).timestamp()


@pytest.mark.slow
def test_two_services_on_one_database_start_each_due_run_once(site: Site, store_url: str) -> None:
    site.url = store_url  # a SQLite file, then a PostgreSQL database
    site.write("releve", every=2)
    started = [site.serve(wait=False), site.serve(wait=False)]  # together, on a database not created yet
    for process, log in started:
        site.wait_ready(process, log)
    wait_until(lambda: len(site.outputs()) >= 3, timeout=40)
    site.stop_all()
    outputs = site.outputs()
    per_due = Counter(output["due"] for output in outputs)
    assert max(per_due.values()) == 1, per_due  # never two runs of one fire
    store = RunStore(site.url)
    runs = store.list_runs(limit=1000)
    store.close()
    assert sorted(run.id for run in runs) == sorted(output["run"] for output in outputs)
    fires = site.fires()
    ran = [row for row in fires if row["run_id"]]
    assert len(ran) == len(outputs)
    # Every due time between the first and the last is accounted for once: it ran, or was refused because the
    # previous run still lasted.
    dues = sorted(due_epoch(row) for row in fires)
    assert all(abs((later - earlier) - 2.0) < 0.01 for earlier, later in itertools.pairwise(dues))
    services = {row["owner"] for row in fires}
    logs = "".join(log.read_text() for _process, log in site.processes)
    # Both services wake at each due time; the database lock picks one.
    assert len(services) == 2 or "taken by another service" in logs


@pytest.mark.slow
def test_kill_9_and_restart_keeps_every_schedule_and_applies_the_misfire_policy(site: Site) -> None:
    every = 5  # seconds: a restarted service may take up to every - 1 s to start (a loaded machine, coverage)
    site.write("tardif", every=every, misfire="run_once_late")
    site.write("ponctuel", every=every, misfire="skip", extra="    grace: 1\n")
    process, _log = site.serve()
    wait_until(
        lambda: (
            {row["job_id"] for row in site.fires() if row["status"] == "succeeded"}
            >= {"tardif/1", "ponctuel/1"}
        ),
        timeout=30,
    )
    wait_until(lambda: not [row for row in site.fires() if row["status"] in ("claimed", "running")])
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = time.time()
    # Stay away for two due times or more, and come back 1 s after a due time: the service, however long it takes
    # to start, finds every fire since it was killed late by more than ponctuel's 1 s of grace.
    time.sleep(2 * every + 0.2 - (time.time() % every) + 1.0)
    _process, log = site.serve()
    text = log.read_text()
    back_at = ready_time(text)  # when the restarted service looked at its jobs, not when it was launched
    assert "kept tardif/1" in text and "kept ponctuel/1" in text  # the job store remembered both
    wait_until(
        lambda: [
            row
            for row in site.fires()
            if row["job_id"] == "ponctuel/1" and due_epoch(row) > back_at and row["status"] == "succeeded"
        ],
        timeout=30,
    )
    wait_until(
        lambda: [
            row
            for row in site.fires()
            if row["job_id"] == "tardif/1" and due_epoch(row) > back_at and row["status"] == "succeeded"
        ],
        timeout=30,
    )
    site.stop_all()
    fires = site.fires()
    missed_window = [row for row in fires if killed_at < due_epoch(row) <= back_at]
    late = [row for row in missed_window if row["job_id"] == "tardif/1"]
    (caught_up,) = late  # several fires were missed: one run catches them up
    assert caught_up["status"] == "succeeded"
    assert caught_up["started_at"] - due_epoch(caught_up) > 1.0
    assert back_at - due_epoch(caught_up) < every  # the latest of the missed fires
    skipped = [row for row in missed_window if row["job_id"] == "ponctuel/1"]
    assert [row["status"] for row in skipped] == ["missed"]
    assert skipped[0]["run_id"] is None


def ready_time(log_text: str) -> float:
    """The moment a service's log says it is ready (its first line that says so)."""
    line = next(line for line in log_text.splitlines() if " INFO ready: " in line)
    return dt.datetime.fromisoformat(line.split(" ", 1)[0]).timestamp()


@pytest.mark.slow
def test_sigterm_stops_firing_and_lets_the_run_in_progress_end(site: Site) -> None:
    gate = site.root / "gate"
    gate.mkdir()
    (gate / "present").write_text("x")
    (site.folder / "lent.yaml").write_text(
        "name: Lent\ninputs:\n  gate: {type: folder}\nschedule:\n"
        f"  - every: 1\n    inputs: {{gate: {gate}}}\n"
        "steps:\n"
        '  - for_each: "{{ range(3) | list }}"\n'
        "    steps:\n"
        '      - files.wait_for_file: {folder: "{{ inputs.gate }}", pattern: present, stable_for: 0.5}\n',
        encoding="utf-8",
    )
    process, log = site.serve("--stop-timeout", "20")
    running = wait_until(lambda: [row for row in site.fires() if row["status"] == "running"])
    status = site.robo("status")
    assert status.exit_code == 0 and "running (host" in status.stdout and "running: lent/1" in status.stdout
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    finished = {row["id"]: row for row in site.fires()}[running[0]["id"]]
    assert finished["status"] == "succeeded"  # it was let finish
    lines = log.read_text().splitlines()
    assert any("SIGTERM received" in line for line in lines)
    assert lines[-1].endswith("stopped")
    assert all("\x1b[" not in line and line[:4].isdigit() for line in lines)  # plain, timestamped lines
    status = site.robo("status")
    assert status.exit_code == 1 and "stopped" in status.stdout


def test_list_pause_and_resume_from_the_command_line(site: Site) -> None:
    site.write("releve", every=900, extra='    between: ["08:00", "18:00"]\n')
    listed = site.robo("list", str(site.folder))
    assert listed.exit_code == 0, listed.stderr
    assert "releve/1 — Releve" in listed.stdout
    assert "every 15 min (Europe/Paris), between 08:00 and 18:00" in listed.stdout
    assert "last run: none" in listed.stdout
    paused = site.robo("pause", "releve", "--workflows", str(site.folder))
    assert (paused.exit_code, paused.stdout) == (0, "releve/1: paused\n")
    listed = json.loads(site.robo("list", str(site.folder), "--format", "json").stdout)
    assert listed[0]["paused"] is True and len(listed[0]["next"]) == 3
    resumed = site.robo("resume", "releve/1", "--workflows", str(site.folder))
    assert resumed.stdout == "releve/1: resumed\n"
    (site.folder / "casse.yaml").write_text(
        "name: Cassé\nschedule:\n  - cron: '0 25 * * *'\nsteps: [{log: a}]\n"
    )
    broken = site.robo("list", str(site.folder))
    assert broken.exit_code == 1
    assert "casse.yaml:3:11: error[bad-cron]" in broken.stderr
    unknown = site.robo("pause", "relevee", "--workflows", str(site.folder))
    assert unknown.exit_code == 1 and "hint: did you mean 'releve'?" in unknown.stderr


if os.name != "posix":  # pragma: no cover - signals and process groups
    pytestmark = pytest.mark.skip("POSIX only")
