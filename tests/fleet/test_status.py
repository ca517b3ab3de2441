"""How the fleet stands (`robo fleet status` and the console's fleet page): real worker processes on a real
PostgreSQL, a worker killed with SIGKILL seen silent with its job stalled, hostile names escaped, and the clear
refusals (a SQLite store, an unreachable server, tables not made)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from runner.fleet import FleetWorkers, WorkerState, fleet_status, upgrade_databases
from runner.record import ItemLeases, RunStore
from tests.console.conftest import TestClient, add_users, console_app, log_in
from tests.fleet.test_worker import LOOP, RUN, defer_batches, enqueue, entered, start_worker
from tests.running import robo_process
from tests.waiting import wait_until

PASSWORD_IN_URL = "s3cret-du-robot"


@pytest.fixture
def fleet_db(postgres_url: str) -> str:
    """A PostgreSQL database upgraded for a fleet, with the `entered` table the tests' workers write to."""
    upgrade_databases(postgres_url)
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE entered (key TEXT NOT NULL, worker TEXT NOT NULL)"))
    engine.dispose()
    return postgres_url


def last_job_worker(url: str) -> int:
    """The id of the last worker Procrastinate registered (0: none yet)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = text("SELECT coalesce(max(id), 0) FROM procrastinate_workers")
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def robo_fleet_status(tmp_path: Path, url: str, *options: str) -> subprocess.CompletedProcess[str]:
    return robo_process("--lang", "fr", "fleet", "status", "--store", url, *options, cwd=tmp_path)


def stop(worker: subprocess.Popen[str]) -> tuple[int, str]:
    worker.send_signal(signal.SIGTERM)
    code = worker.wait(timeout=60)
    return code, worker.communicate()[1]


class TestWorkersAtWork:
    def test_a_live_worker_shows_its_queues_its_current_item_and_the_loop_then_stopped(
        self, fleet_db: str, tmp_path: Path
    ) -> None:
        with RunStore(fleet_db) as store:
            enqueue(ItemLeases(store), 6)
            worker = start_worker(fleet_db, "bot-a", tmp_path, hold="K-0001", heartbeat=0.5)
            try:
                defer_batches(fleet_db, jobs=1, batch=3)
                wait_until(lambda: (tmp_path / "mid-item").exists(), timeout=120)
                status = fleet_status(store)
                [row] = status.workers
                assert (row.worker.name, row.worker.state, row.worker.queues) == (
                    "bot-a",
                    WorkerState.ALIVE,
                    ("browser",),
                )
                assert [(item.run_id, item.loop, item.key) for item in row.doing] == [(RUN, LOOP, "K-0001")]
                assert row.claimed == 1  # K-0002, claimed with the batch, not begun
                browser = next(queue for queue in status.queues if queue.name == "browser")
                assert (browser.todo, browser.doing, browser.failed) == (0, 1, 0)
                [loop] = status.loops
                tally = loop.tally
                assert (loop.run_id, loop.loop) == (RUN, LOOP)
                assert (tally.finished, tally.held, tally.pending, tally.expired) == (1, 2, 3, 0)
                assert status.stalled == [] and not status.needs_attention

                shown = robo_fleet_status(tmp_path, fleet_db)
                assert shown.returncode == 0, shown.stderr + shown.stdout
                assert "bot-a : en vie" in shown.stdout or "bot-a: en vie" in shown.stdout, shown.stdout
                assert "il y a" in shown.stdout and "K-0001" in shown.stdout and RUN in shown.stdout
                as_json = robo_fleet_status(tmp_path, fleet_db, "--format", "json")
                assert as_json.returncode == 0, as_json.stderr
                document = json.loads(as_json.stdout)
                assert document["workers"][0]["doing"][0]["key"] == "K-0001"
                assert document["loops"][0]["held"] == 2 and document["needs_attention"] is False
            finally:
                (tmp_path / "gate").touch()
                code, errors = stop(worker)
            assert code == 0, errors
            [record] = FleetWorkers(store).list()
            assert record.state == WorkerState.STOPPED
            assert robo_fleet_status(tmp_path, fleet_db).returncode == 0  # stopped is no trouble

    def test_a_worker_killed_with_sigkill_is_silent_its_job_stalled_and_the_exit_code_says_so(
        self, fleet_db: str, tmp_path: Path
    ) -> None:
        with RunStore(fleet_db) as store:
            enqueue(ItemLeases(store), 3)
            worker = start_worker(fleet_db, "bot-k", tmp_path, hold="K-0000", lease=30, heartbeat=0.3)
            try:
                defer_batches(fleet_db, jobs=1, batch=3)
                wait_until(lambda: (tmp_path / "mid-item").exists(), timeout=120)
                worker.kill()
                worker.wait(timeout=60)
            finally:
                worker.kill()
                worker.communicate()

            def silent_and_stalled() -> bool:
                status = fleet_status(store, stalled_after=0.9)
                return status.silent != [] and len(status.stalled) == 1

            wait_until(silent_and_stalled, timeout=30, interval=0.2)
            status = fleet_status(store, stalled_after=0.9)
            [job] = status.stalled
            assert (job.run_id, job.loop, job.queue) == (RUN, LOOP, "browser")
            assert status.workers[0].doing[0].key == "K-0000"  # its lease still runs: the item is its own
            shown = robo_fleet_status(tmp_path, fleet_db)
            assert shown.returncode == 3, shown.stderr + shown.stdout
            assert "bot-k : silencieux" in shown.stdout or "bot-k: silencieux" in shown.stdout, shown.stdout
            assert entered(fleet_db) == []  # nothing entered by the status, nor twice
            live = robo_process(
                "--lang", "en", "fleet", "forget", "bot-nobody", "--store", fleet_db, cwd=tmp_path
            )
            assert live.returncode == 1 and "no worker is named bot-nobody" in live.stderr

            # Restarted on its machine (systemd's Restart=on-failure), it takes its name back at once.
            before = last_job_worker(fleet_db)
            restarted = start_worker(fleet_db, "bot-k", tmp_path / "restarted", heartbeat=0.3)
            try:
                wait_until(
                    lambda: (
                        [(row.pid, row.state) for row in FleetWorkers(store).list()]
                        == [(restarted.pid, WorkerState.ALIVE)]
                    ),
                    timeout=120,
                )
                # Listening (its SIGTERM handled) before it is stopped.
                wait_until(lambda: last_job_worker(fleet_db) > before, timeout=120)
                refused = robo_process(
                    "--lang", "en", "fleet", "forget", "bot-k", "--store", fleet_db, cwd=tmp_path
                )
                assert refused.returncode == 1 and "taken by a live worker" in refused.stderr
            finally:
                code, errors = stop(restarted)
            assert code == 0, errors
            forgotten = robo_process(
                "--lang", "en", "fleet", "forget", "bot-k", "--store", fleet_db, cwd=tmp_path
            )
            assert forgotten.returncode == 0, forgotten.stderr
            assert FleetWorkers(store).list() == []

    def test_a_second_worker_under_a_live_worker_s_name_is_refused_before_taking_a_job(
        self, fleet_db: str, tmp_path: Path
    ) -> None:
        first = start_worker(fleet_db, "bot-a", tmp_path, heartbeat=0.5)
        try:
            wait_until(lambda: last_job_worker(fleet_db) > 0, timeout=120)  # listening: SIGTERM handled
            second = start_worker(fleet_db, "bot-a", tmp_path)
            code = second.wait(timeout=120)
            _out, errors = second.communicate()
            assert code != 0
            assert "the worker name bot-a is taken by a live worker" in errors, errors
        finally:
            code, errors = stop(first)
        assert code == 0, errors


class TestRefusals:
    def test_a_sqlite_store_has_no_fleet_one_sentence_exit_1(self, tmp_path: Path) -> None:
        store = tmp_path / "robo.db"
        shown = robo_process("--lang", "en", "fleet", "status", "--store", f"sqlite:///{store}", cwd=tmp_path)
        assert shown.returncode == 1
        assert "Traceback" not in shown.stderr + shown.stdout
        assert "needs a PostgreSQL run store" in shown.stderr and "ROBO_STORE_URL" in shown.stderr
        assert not store.exists()  # nothing made for nothing

    def test_an_unreachable_server_is_said_without_its_password(self, tmp_path: Path) -> None:
        url = f"postgresql+psycopg://robo:{PASSWORD_IN_URL}@127.0.0.1:1/robo"
        shown = robo_process("--lang", "en", "fleet", "status", "--store", url, cwd=tmp_path)
        assert shown.returncode == 1
        assert "Traceback" not in shown.stderr + shown.stdout
        assert PASSWORD_IN_URL not in shown.stderr + shown.stdout
        assert "cannot open the run store" in shown.stderr and "***" in shown.stderr

    def test_job_tables_not_made_yet_point_to_robo_db_upgrade(
        self, postgres_url: str, tmp_path: Path
    ) -> None:
        shown = robo_process("--lang", "en", "fleet", "status", "--store", postgres_url, cwd=tmp_path)
        assert shown.returncode == 1, shown.stdout
        assert "Traceback" not in shown.stderr and "robo db upgrade" in shown.stderr


class TestFleetPage:
    def test_the_page_shows_workers_queues_and_loops_with_hostile_names_escaped(
        self, fleet_db: str, tmp_path: Path
    ) -> None:
        hostile = "<script>alert('bot')</script>"
        with RunStore(fleet_db) as store:
            leases = ItemLeases(store)
            leases.enqueue(RUN, LOOP, [("<b>clé</b>", 0, {}), ("K-2", 1, {})])
            FleetWorkers(store).register(hostile, queues=["<i>q</i>"], heartbeat_seconds=30)
            [lease] = leases.claim(RUN, LOOP, hostile, 1, 60)
            leases.begin(lease)
            logs = tmp_path / "logs"
            with TestClient(console_app(store, logs, add_users(store)), follow_redirects=False) as client:
                assert log_in(client, "valerie").status_code == 303  # a viewer
                page = client.get("/fleet", params={"lang": "fr"})
                assert page.status_code == 200
                assert "<script>" not in page.text and "<b>clé" not in page.text and "<i>q" not in page.text
                assert "&lt;script&gt;alert(&#39;bot&#39;)&lt;/script&gt;" in page.text
                assert "&lt;b&gt;clé&lt;/b&gt;" in page.text and "&lt;i&gt;q&lt;/i&gt;" in page.text
                assert "Flotte" in page.text and "en vie" in page.text and "il y a" in page.text
                assert '/fleet">Flotte</a>' in client.get("/runs").text  # in the nav
                english = client.get("/fleet", params={"lang": "en"}).text
                assert "Fleet" in english and "alive" in english
                metrics = client.get("/metrics").text
                assert 'robo_fleet_workers{state="alive"} 1.0' in metrics
                assert "robo_fleet_stalled_jobs 0.0" in metrics

    def test_on_sqlite_the_page_says_a_fleet_needs_postgres(self, tmp_path: Path) -> None:
        logs = tmp_path / "logs"
        with RunStore(f"sqlite:///{logs / 'robo.db'}") as store:
            with TestClient(console_app(store, logs, add_users(store)), follow_redirects=False) as client:
                assert log_in(client, "valerie").status_code == 303
                page = client.get("/fleet", params={"lang": "en"})
                assert page.status_code == 200
                assert "needs a PostgreSQL run store" in page.text and "ROBO_STORE_URL" in page.text
                assert "robo_fleet_workers" not in client.get("/metrics").text
                assert "/fleet" not in client.get("/runs").text  # no link to it in the header

    def test_the_page_needs_a_login(self, tmp_path: Path) -> None:
        logs = tmp_path / "logs"
        with RunStore(f"sqlite:///{logs / 'robo.db'}") as store:
            with TestClient(console_app(store, logs, add_users(store)), follow_redirects=False) as client:
                answer = client.get("/fleet")
                assert answer.status_code in (302, 303) and "/login" in answer.headers["location"]
