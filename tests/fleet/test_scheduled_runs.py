"""The schedule service on a fleet's database: due runs go to real `robo worker` processes as `robo.run` jobs.

Real `robo schedule serve` and `robo worker` processes on a real PostgreSQL: one due run is enqueued once (two
services) and run once (two workers), its fire recorded with its outcome and notified; a worker killed mid-run
has its job retried by the stalled-job retry and the run resumed, not started again; no secret in the job.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import procrastinate
import pytest
from sqlalchemy import create_engine, text

from runner.fleet import RUN_TASK, FleetLauncher, libpq_url, retry_stalled_jobs, run_fire, upgrade_databases
from runner.fleet.scheduled import job_payload, workflow_queue
from runner.record import RunStore
from runner.schedule import FireJob, FireStatus, ScheduleDatabase, fire_key
from runner.schedule_commands import launcher_for
from tests.waiting import wait_until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
SECRET = "s3cret-Jeton-7781"  # the workflow's secret: each worker resolves it, no job carries it
HOOK_TOKEN = (
    "hook-token-5521"  # in the webhook's address: read by the worker in the workflow file, not carried
)

RELEVE = """\
name: Relevé
secrets: [jeton]
inputs:
  sortie: {{type: folder}}
schedule:
  - at: "{at}"
    timezone: UTC
    inputs: {{sortie: "{out}"}}
notify:
  webhook: "{hook}/hooks/{token}"
  send_on: [success, failure]
steps:
  - data.write_json:
      data: {{run: "{{{{ run.id }}}}", due: "{{{{ env.ROBO_SCHEDULED_FOR }}}}"}}
      path: "{{{{ inputs.sortie }}}}/{{{{ run.id }}}}.json"
"""

ITEMS = 6
GATED_ITEM = 3
PASSAGE = """\
name: Passage
inputs:
  dossier: {{type: folder}}
schedule:
  - at: "{at}"
    timezone: UTC
    inputs: {{dossier: "{folder}"}}
steps:
  - for_each: "{{{{ range({items}) | list }}}}"
    as: n
    key: n
    steps:
      - when: "n == {gated}"
        files.wait_for_file: {{folder: "{{{{ inputs.dossier }}}}/porte", pattern: ouverte, timeout: 600, stable_for: 0}}
      - excel.append_rows: {{path: "{{{{ inputs.dossier }}}}/sortie.csv", records: [{{numero: "{{{{ n }}}}"}}]}}
"""


def sql(url: str, query: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(query))
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


def run_jobs(url: str) -> list[Any]:
    """The `robo.run` jobs in Procrastinate's table: id, queue, status, arguments, attempts."""
    return sql(
        url,
        f"SELECT id, queue_name, status, args, attempts FROM procrastinate_jobs WHERE task_name = '{RUN_TASK}'",
    )


def soon(seconds: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class Fleet:
    """Real `robo schedule serve` and `robo worker` processes on one PostgreSQL database."""

    def __init__(self, url: str, root: Path) -> None:
        self.url = url
        self.root = root
        self.folder = root / "workflows"
        self.folder.mkdir()
        self.processes: dict[str, subprocess.Popen[str]] = {}
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "ROBO_LANG": "en",
            "ROBO_SECRET_JETON": SECRET,
        }

    def _start(self, name: str, *args: str) -> subprocess.Popen[str]:
        # The process writes to its own copy of the file descriptor: this one is closed at once.
        with (self.root / f"{name}.log").open("w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "runner.cli",
                    *args,
                    "--store",
                    self.url,
                    "--logs",
                    str(self.root / f"logs-{name}"),
                ],
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env=self.env,
            )
        self.processes[name] = process
        return process

    def serve(self, name: str) -> subprocess.Popen[str]:
        process = self._start(name, "schedule", "serve", str(self.folder), "--poll", "0.5")
        wait_until(lambda: " INFO ready: " in self.log(name) or process.poll() is not None, timeout=60)
        assert process.poll() is None, self.log(name)
        return process

    def worker(self, name: str) -> subprocess.Popen[str]:
        return self._start(name, "worker", "--name", name)

    def alive_workers(self) -> int:
        return int(self.sql("SELECT count(*) FROM procrastinate_workers")[0][0])

    def sql(self, query: str) -> list[Any]:
        return sql(self.url, query)

    def jobs(self) -> list[Any]:
        return run_jobs(self.url)

    def fires(self) -> list[dict[str, Any]]:
        db = ScheduleDatabase(self.url)
        try:
            return db.fires()
        finally:
            db.close()

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(encoding="utf-8")

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{self.log(name)[-3000:]}" for name in self.processes)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def fleet_url(postgres_url: str) -> str:
    upgrade_databases(postgres_url)
    return postgres_url


@pytest.fixture
def fleet(fleet_url: str, tmp_path: Path) -> Iterator[Fleet]:
    processes = Fleet(fleet_url, tmp_path)
    yield processes
    processes.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200 if self.path == f"/hooks/{HOOK_TOKEN}" else 404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_two_services_enqueue_a_due_run_once_and_one_of_two_workers_runs_it(
    fleet: Fleet, tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    hook, received = webhook
    out = tmp_path / "sortie"
    out.mkdir()
    fleet.serve("service-1")
    fleet.serve("service-2")
    fleet.worker("bot-1")
    fleet.worker("bot-2")
    wait_until(lambda: fleet.alive_workers() == 2, timeout=120)
    (fleet.folder / "releve.yaml").write_text(
        RELEVE.format(at=soon(4), out=out, hook=hook, token=HOOK_TOKEN), encoding="utf-8"
    )
    fires = wait_until(
        lambda: [
            fire for fire in fleet.fires() if fire["status"] not in (FireStatus.QUEUED, "claimed", "running")
        ],
        timeout=120,
    )
    assert [fire["status"] for fire in fires] == ["succeeded"], fleet.logs()
    (fire,) = fleet.fires()
    with RunStore(fleet.url) as store:
        runs = store.list_runs(limit=10)
    assert len(runs) == 1 and runs[0].status == "succeeded"
    assert fire["run_id"] == runs[0].id and fire["exit_code"] == 0
    assert fire["owner"] in ("worker:bot-1", "worker:bot-2")
    assert [json.loads(path.read_text())["run"] for path in out.glob("*.json")] == [runs[0].id]

    # Enqueued once, by one of the two services; run once, by one of the two workers. The fire is recorded by the
    # task itself, which Procrastinate marks done only once it has returned: wait for that.
    def jobs_done() -> list[Any] | None:
        jobs = fleet.jobs()
        return jobs if jobs and all(job[2] != "doing" for job in jobs) else None

    ((_job_id, queue, status, args, attempts),) = wait_until(jobs_done, timeout=60)
    assert (queue, status, attempts) == ("robo", "succeeded", 1)  # taken once
    sent = [name for name in ("service-1", "service-2") if "): sent to the fleet (job " in fleet.log(name)]
    assert len(sent) == 1, fleet.logs()
    assert all("run started (" not in fleet.log(name) for name in ("service-1", "service-2"))
    assert args["fire_id"] == fire["id"] and args["schedule"] == "releve/1"
    # The payload holds no secret: not the workflow's, not the webhook's token, not the database's address.
    payload = json.dumps(args)
    assert SECRET not in payload and HOOK_TOKEN not in payload and "postgresql" not in payload
    assert set(args) == {
        "fire_id",
        "schedule",
        "workflow",
        "workflow_file",
        "inputs",
        "timezone",
        "due",
        "kind",
    }
    # The worker notified as the local launcher does, with the schedule's notify: read in the workflow file.
    wait_until(lambda: received, timeout=30)
    (notice,) = received
    assert notice["status"] == "succeeded" and notice["run_id"] == runs[0].id
    assert notice["schedule"] == "releve/1"


def test_a_worker_killed_mid_run_has_its_job_retried_and_the_run_resumed(
    fleet: Fleet, tmp_path: Path
) -> None:
    fleet.serve("service-1")
    fleet.worker("bot-1")
    fleet.worker("bot-2")
    wait_until(lambda: fleet.alive_workers() == 2, timeout=120)
    folder, rows = gated_passage(fleet, tmp_path)
    running = wait_until(lambda: [fire for fire in fleet.fires() if fire["status"] == "running"], timeout=30)
    killed = running[0]["owner"].removeprefix("worker:")
    survivor = "bot-2" if killed == "bot-1" else "bot-1"
    fleet.processes[killed].send_signal(signal.SIGKILL)
    fleet.processes[killed].wait(timeout=30)
    with RunStore(fleet.url) as store:
        (first,) = store.list_runs(limit=10)
    (folder / "porte" / "ouverte").write_text("oui", encoding="utf-8")
    # The fleet's periodic retry of stalled jobs, run now rather than at the next minute.
    wait_until(lambda: asyncio.run(retry(fleet.url)) > 0, timeout=60, interval=0.5)
    fires = wait_until(lambda: ended_fires(fleet), timeout=120)
    assert [fire["status"] for fire in fires] == ["succeeded"], fleet.logs()
    (fire,) = fires
    with RunStore(fleet.url) as store:
        runs = store.list_runs(limit=10)
    assert [run.id for run in runs] == [first.id], "the run was resumed, not started again"
    assert runs[0].status == "succeeded" and runs[0].sessions == 2
    assert fire["run_id"] == first.id and fire["owner"] == f"worker:{survivor}"
    assert sorted(rows(), key=int) == [str(n) for n in range(ITEMS)]  # each item once
    ((_id, queue, status, _args, attempts),) = fleet.jobs()
    assert (queue, status, attempts) == ("robo", "succeeded", 2)  # taken again after the kill


def test_a_worker_stopped_mid_run_interrupts_it_and_another_worker_resumes_it(
    fleet: Fleet, tmp_path: Path
) -> None:
    fleet.serve("service-1")
    fleet.worker("bot-1")
    wait_until(lambda: fleet.alive_workers() == 1, timeout=120)
    folder, rows = gated_passage(fleet, tmp_path)
    fleet.processes["bot-1"].send_signal(signal.SIGTERM)  # as systemd stops it
    fleet.worker("bot-2")
    wait_until(lambda: "the run stops after its current step" in fleet.log("bot-1"), timeout=30)
    (folder / "porte" / "ouverte").write_text("oui", encoding="utf-8")  # the current step ends
    assert fleet.processes["bot-1"].wait(timeout=60) == 0
    fires = wait_until(lambda: ended_fires(fleet), timeout=120)
    assert [fire["status"] for fire in fires] == ["succeeded"], fleet.logs()
    with RunStore(fleet.url) as store:
        (run,) = store.list_runs(limit=10)
    assert run.status == "succeeded" and run.sessions == 2
    assert fires[0]["run_id"] == run.id and fires[0]["owner"] == "worker:bot-2"
    assert sorted(rows(), key=int) == [str(n) for n in range(ITEMS)]  # each item once
    # The stopped worker's job ended; the one it sent again for the fire was done by the other worker.
    jobs = [(status, args) for _id, _queue, status, args, _n in sorted(fleet.jobs())]
    assert [args["fire_id"] for _status, args in jobs] == [fires[0]["id"]] * 2
    assert jobs[-1][0] == "succeeded", jobs


def gated_passage(fleet: Fleet, tmp_path: Path) -> tuple[Path, Callable[[], list[str]]]:
    """The passage workflow scheduled in a few seconds, waited for until it stands at its gated item: its folder
    (`porte/ouverte` opens the gate) and the rows it has written so far."""
    folder = tmp_path / "passage"
    folder.mkdir()
    (folder / "porte").mkdir()
    (fleet.folder / "passage.yaml").write_text(
        PASSAGE.format(at=soon(4), folder=folder, items=ITEMS, gated=GATED_ITEM), encoding="utf-8"
    )
    output = folder / "sortie.csv"

    def rows() -> list[str]:
        return output.read_text(encoding="utf-8").split()[1:] if output.exists() else []

    wait_until(lambda: len(rows()) == GATED_ITEM, timeout=120)
    return folder, rows


def ended_fires(fleet: Fleet) -> list[dict[str, Any]]:
    return [fire for fire in fleet.fires() if fire["status"] not in ("queued", "claimed", "running")]


async def retry(url: str) -> int:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(url)))
    async with app.open_async():
        return await retry_stalled_jobs(app, stalled_after=2)


class Said(logging.Handler):
    """The lines a logger said."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


class TestWithoutWorkers:
    """The launcher's own rules, against the real database, with no worker to take the jobs."""

    def test_without_a_fleet_the_service_runs_its_fires_here(self, tmp_path: Path, postgres_url: str) -> None:
        from runner.schedule import FireLauncher

        assert launcher_for(f"sqlite:///{tmp_path / 'robo.db'}") is FireLauncher
        assert launcher_for(postgres_url) is FireLauncher  # PostgreSQL without the fleet's tables
        upgrade_databases(postgres_url)
        assert launcher_for(postgres_url) is FleetLauncher

    def test_the_queue_follows_the_workflow_s_robots(self, tmp_path: Path) -> None:
        plain = tmp_path / "plain.yaml"
        plain.write_text("name: A\nsteps:\n  - data.set: {value: 1}\n", encoding="utf-8")
        web = tmp_path / "web.yaml"
        web.write_text(
            "name: B\nsteps:\n  - for_each: [1]\n    steps:\n      - browser.open: {url: 'http://x'}\n",
            encoding="utf-8",
        )
        screen = tmp_path / "screen.yaml"
        screen.write_text(
            "name: C\nsteps:\n  - browser.open: {url: 'http://x'}\n  - desktop.press: {key: enter}\n",
            encoding="utf-8",
        )
        broken = tmp_path / "broken.yaml"
        broken.write_text("name: D\nsteps: 3\n", encoding="utf-8")
        from runner.language import validate_file

        assert [validate_file(path).ok for path in (plain, web, broken)] == [True, True, False]
        # The service's machine may have no screen (the desktop robot is unavailable there): the queue is the same.
        assert [workflow_queue(path) for path in (plain, web, screen, broken)] == [
            "robo",
            "browser",
            "desktop",
            "robo",
        ]

    def test_a_fire_is_enqueued_once_and_its_lock_kept_while_its_job_waits(
        self, fleet_url: str, tmp_path: Path
    ) -> None:
        workflow = tmp_path / "a.yaml"
        workflow.write_text("name: A\nsteps:\n  - data.set: {value: 1}\n", encoding="utf-8")
        db = ScheduleDatabase(fleet_url)
        launchers = [
            FleetLauncher(db, owner=owner, logs_dir=tmp_path, store_url=fleet_url) for owner in ("s1", "s2")
        ]
        try:
            job = FireJob("a/1", "A", str(workflow), {"n": 1})
            due = dt.datetime.now(dt.UTC).replace(microsecond=0)
            said, logger = Said(), logging.getLogger("robo.schedule")
            level = logger.level
            logger.addHandler(said)
            logger.setLevel(logging.INFO)
            try:
                assert [launcher.fire(job, due) for launcher in launchers] == [None, None]
            finally:
                logger.removeHandler(said)
                logger.setLevel(level)
            assert any(
                "no worker of the fleet doing the queue 'robo' is alive" in line for line in said.lines
            )
            assert any("taken by another service" in line for line in said.lines)
            (fire,) = db.fires()
            assert fire["status"] == FireStatus.QUEUED and fire["owner"] == "s1"
            # The job's queueing lock: the same fire is never waiting twice, even if asked again.
            assert launchers[1]._run(job, due, fire["id"], "scheduled", "a/1") is None
            assert len(launchers[0].live_fires()) == 1
            jobs = run_jobs(fleet_url)
            assert [(queue, status) for _id, queue, status, _a, _n in jobs] == [("robo", "todo")]
            # While its job waits, any service keeps the fire's lock: a second fire of the workflow is refused.
            db.extend_fire(fire["id"], -1)  # as if the claiming service had died long ago
            launchers[1].reap(lambda job_id: None)
            assert db.fire(fire["id"])["expires_at"] > dt.datetime.now().timestamp()  # type: ignore[index]
            later = due + dt.timedelta(seconds=1)
            assert launchers[1].fire(job, later) is None
            assert db.fires()[0]["status"] == FireStatus.SKIPPED_OVERLAP
            # A job that ends without recording its run (cancelled here) leaves the fire lost, once.
            sql(fleet_url, "UPDATE procrastinate_jobs SET status = 'cancelled'")
            db.extend_fire(fire["id"], -1)
            launchers[0].reap(lambda job_id: job)
            launchers[1].reap(lambda job_id: job)
            assert db.fire(fire["id"])["status"] == FireStatus.LOST  # type: ignore[index]
            assert job_payload(job, due, 7, "manual")["inputs"] == {"n": 1}
        finally:
            for launcher in launchers:
                launcher.close()
            db.close()


class TestTheWorkersSide:
    """`run_fire`, as a worker's `robo.run` job calls it, in this process."""

    def claimed(self, url: str, job: FireJob, due: dt.datetime) -> int:
        db = ScheduleDatabase(url)
        try:
            claim = db.claim_fire(job.job_id, fire_key(due), kind="scheduled", owner="s1", ttl=60)
            assert claim.outcome == "run" and claim.fire_id is not None
            db.fire_queued(claim.fire_id, detail="job 1, queue robo")
            return claim.fire_id
        finally:
            db.close()

    def test_a_workflow_made_invalid_after_its_fire_was_sent_is_recorded_invalid(
        self, fleet_url: str, tmp_path: Path
    ) -> None:
        workflow = tmp_path / "a.yaml"
        workflow.write_text("name: A\nsteps:\n  - data.nothing: {x: 1}\n", encoding="utf-8")
        job = FireJob("a/1", "A", str(workflow))
        due = dt.datetime.now(dt.UTC)
        fire_id = self.claimed(fleet_url, job, due)
        outcome = run_fire(fleet_url, tmp_path / "logs", "bot-1", fire_id, job, due, environ={})
        assert outcome is not None and outcome.status == FireStatus.INVALID
        db = ScheduleDatabase(fleet_url)
        try:
            fire = db.fire(fire_id)
        finally:
            db.close()
        assert fire is not None and fire["status"] == FireStatus.INVALID and fire["owner"] == "worker:bot-1"
        assert "a.yaml:3:" in (fire["detail"] or "") and fire["run_id"] is None
        with RunStore(fleet_url) as store:
            assert store.list_runs(limit=5) == []

    def test_a_job_done_again_after_its_fire_was_recorded_runs_nothing(
        self, fleet_url: str, tmp_path: Path
    ) -> None:
        workflow = tmp_path / "a.yaml"
        workflow.write_text("name: A\nsteps:\n  - data.set: {value: 1}\n", encoding="utf-8")
        job = FireJob("a/1", "A", str(workflow))
        due = dt.datetime.now(dt.UTC)
        fire_id = self.claimed(fleet_url, job, due)
        first = run_fire(fleet_url, tmp_path / "logs", "bot-1", fire_id, job, due, environ={})
        assert first is not None and first.status == "succeeded"
        assert run_fire(fleet_url, tmp_path / "logs", "bot-2", fire_id, job, due, environ={}) is None
        with RunStore(fleet_url) as store:
            assert len(store.list_runs(limit=5)) == 1
        db = ScheduleDatabase(fleet_url)
        try:
            fire = db.fire(fire_id)
        finally:
            db.close()
        assert fire is not None and fire["owner"] == "worker:bot-1" and fire["run_id"] == first.run_id

    def test_relative_paths_in_a_schedule_s_inputs_are_the_workflow_folder_s(
        self, fleet_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        folder = tmp_path / "workflows"
        (folder / "sortie").mkdir(parents=True)
        workflow = folder / "a.yaml"
        workflow.write_text(
            "name: A\ninputs:\n  dossier: {type: folder}\nsteps:\n"
            '  - data.write_json: {data: {ok: true}, path: "{{ inputs.dossier }}/fait.json"}\n',
            encoding="utf-8",
        )
        elsewhere = tmp_path / "worker"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)  # the worker's own folder, not the workflow's
        job = FireJob("a/1", "A", str(workflow), {"dossier": "sortie"})
        due = dt.datetime.now(dt.UTC)
        fire_id = self.claimed(fleet_url, job, due)
        outcome = run_fire(fleet_url, tmp_path / "logs", "bot-1", fire_id, job, due, environ={})
        assert outcome is not None and outcome.status == "succeeded", outcome
        assert (folder / "sortie" / "fait.json").is_file()
