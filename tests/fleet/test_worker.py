"""A fleet's workers: each claims batches of a run's items through the leases, renews them while it works, and on
SIGTERM finishes its current item, gives back the rest and exits; real Procrastinate workers in real processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import procrastinate
import pytest
from sqlalchemy import create_engine, text

from runner.events import ItemStatus
from runner.fleet import (
    ITEMS_TASK,
    ItemResult,
    libpq_url,
    retry_stalled_jobs,
    upgrade_databases,
    work_on_items,
)
from runner.record import ItemLease, ItemLeases, RunStore
from tests.waiting import wait_until

ROOT = Path(__file__).parents[2]
RUN, LOOP = "run-fleet", "dossiers"


def enqueue(leases: ItemLeases, count: int) -> list[str]:
    keys = [f"K-{number:04d}" for number in range(count)]
    leases.enqueue(RUN, LOOP, [(key, number, {"n": number}) for number, key in enumerate(keys)])
    return keys


class TestWorkOnItems:
    def test_workers_share_a_run_and_each_item_is_done_once(self, store_url: str) -> None:
        with RunStore(store_url) as store:
            leases = ItemLeases(store)
            keys = enqueue(leases, 40)
            done: list[str] = []
            reports = []

            def worker(name: str) -> None:
                reports.append(
                    work_on_items(
                        leases,
                        RUN,
                        LOOP,
                        name,
                        lambda lease: _entered(done, lease),
                        batch=3,
                        lease_seconds=30,
                    )
                )

            threads = [threading.Thread(target=worker, args=(f"bot-{n}",)) for n in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(done) == keys
            assert sorted(key for report in reports for key in report.finished) == keys
            rows = store.run_items(RUN)
            assert {row["status"] for row in rows} == {ItemStatus.DONE}
            assert all(row["outcome"] == {"n": row["payload"]["n"]} for row in rows)

    def test_the_heartbeat_keeps_an_item_longer_than_its_lease(self, store_url: str) -> None:
        with RunStore(store_url) as store:
            leases = ItemLeases(store)
            enqueue(leases, 1)
            release = threading.Event()
            started = threading.Event()

            def slow(lease: ItemLease) -> ItemResult:
                started.set()
                release.wait(30)
                return ItemResult(ItemStatus.DONE)

            worker = threading.Thread(
                target=work_on_items,
                args=(leases, RUN, LOOP, "bot-lent", slow),
                kwargs={"lease_seconds": 0.6},
            )
            worker.start()
            assert started.wait(30)
            watched_until = time.monotonic() + 2.0  # over three lease lengths
            while time.monotonic() < watched_until:
                assert leases.claim(RUN, LOOP, "bot-b", 1, 30) == []
                time.sleep(0.05)
            release.set()
            worker.join()
            [row] = store.run_items(RUN)
            assert (row["status"], row["worker"]) == (ItemStatus.DONE, "bot-lent")

    def test_a_worker_told_to_stop_finishes_its_item_and_gives_back_the_rest(self, store_url: str) -> None:
        with RunStore(store_url) as store:
            leases = ItemLeases(store)
            enqueue(leases, 5)
            done: list[str] = []
            report = work_on_items(
                leases,
                RUN,
                LOOP,
                "bot-a",
                lambda lease: _entered(done, lease),
                batch=4,
                should_stop=lambda: bool(done),
            )
            assert done == ["K-0000"] and report.released == ["K-0001", "K-0002", "K-0003"]
            statuses = {row["key"]: row["status"] for row in store.run_items(RUN)}
            assert statuses == {"K-0000": ItemStatus.DONE} | {
                f"K-000{n}": ItemStatus.PENDING for n in range(1, 5)
            }

    def test_a_worker_that_breaks_down_frees_its_batch_at_once(self, store_url: str) -> None:
        with RunStore(store_url) as store:
            leases = ItemLeases(store)
            enqueue(leases, 4)

            def broken(lease: ItemLease) -> ItemResult:
                if lease.key == "K-0001":
                    raise RuntimeError("bug")
                return ItemResult(ItemStatus.DONE)

            with pytest.raises(RuntimeError, match="bug"):
                work_on_items(leases, RUN, LOOP, "bot-a", broken, batch=3, lease_seconds=300)
            again = leases.claim(RUN, LOOP, "bot-b", 10, 300)  # not 300 s later: now
            assert [(lease.key, lease.reclaimed) for lease in again] == [
                ("K-0001", True),
                ("K-0002", False),
                ("K-0003", False),
            ]


def _entered(done: list[str], lease: ItemLease) -> ItemResult:
    done.append(lease.key)
    return ItemResult(ItemStatus.DONE, outcome=dict(lease.payload))


WORKER = """
import sys, time
from pathlib import Path
from typing import Any
from sqlalchemy import create_engine, text
from runner.fleet import ItemResult, run_worker
url, name, hold, folder = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
lease, heartbeat = float(sys.argv[5]), float(sys.argv[6])
engine = create_engine(url)

def do_item(lease):
    if lease.key == hold:
        (folder / "mid-item").touch()
        while not (folder / "gate").exists():
            time.sleep(0.01)
    with engine.begin() as connection:
        query = text("SELECT 1 FROM entered WHERE key = :key")
        if lease.reclaimed and connection.execute(query, {"key": lease.key}).first():  # already_done
            return ItemResult("done", {"by": name})
        connection.execute(text("INSERT INTO entered VALUES (:key, :worker)"), {"key": lease.key, "worker": name})
    return ItemResult("done", {"by": name})

run_worker(url, do_item, queues=["browser"], name=name, lease_seconds=lease, worker_heartbeat=heartbeat)
"""


@pytest.fixture
def fleet_url(postgres_url: str) -> Iterator[str]:
    upgrade_databases(postgres_url)
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE entered (key TEXT NOT NULL, worker TEXT NOT NULL)"))
    engine.dispose()
    yield postgres_url


def entered(url: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [
                (row.key, row.worker) for row in connection.execute(text("SELECT key, worker FROM entered"))
            ]
    finally:
        engine.dispose()


def registered_workers(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one())
    finally:
        engine.dispose()


def defer_batches(url: str, jobs: int, batch: int) -> None:
    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=libpq_url(url)))
    with app.open():
        for _ in range(jobs):
            app.configure_task(ITEMS_TASK, queue="browser").defer(run_id=RUN, loop=LOOP, batch=batch)


def start_worker(
    url: str, name: str, folder: Path, hold: str = "", lease: float = 30, heartbeat: float = 10
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, url, name, hold, str(folder), str(lease), str(heartbeat)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


class TestWorkerProcesses:
    def test_three_workers_do_every_item_once(self, fleet_url: str, tmp_path: Path) -> None:
        with RunStore(fleet_url) as store:
            keys = enqueue(ItemLeases(store), 30)
            workers = [start_worker(fleet_url, f"bot-{n}", tmp_path) for n in range(3)]
            try:
                # Every worker listening (its SIGTERM handled) before the work starts, however slow it starts.
                wait_until(lambda: registered_workers(fleet_url) == 3, timeout=120)
                defer_batches(fleet_url, jobs=3, batch=4)
                wait_until(lambda: len(entered(fleet_url)) >= 30, timeout=120)
                wait_until(
                    lambda: {row["status"] for row in store.run_items(RUN)} == {ItemStatus.DONE}, timeout=60
                )
            finally:
                for worker in workers:
                    worker.send_signal(signal.SIGTERM)
                outcomes = [(worker.wait(timeout=60), worker.communicate()[1]) for worker in workers]
            assert [code for code, _err in outcomes] == [0, 0, 0], outcomes
            assert sorted(key for key, _worker in entered(fleet_url)) == keys  # each once
            rows = store.run_items(RUN)
            assert all(row["outcome"] == {"by": row["worker"]} for row in rows)  # the report's "who did it"
            assert set(Counter(row["worker"] for row in rows)) <= {"bot-0", "bot-1", "bot-2"}

    def test_sigterm_mid_item_finishes_it_gives_back_the_batch_and_exits(
        self, fleet_url: str, tmp_path: Path
    ) -> None:
        with RunStore(fleet_url) as store:
            enqueue(ItemLeases(store), 8)
            worker = start_worker(fleet_url, "bot-a", tmp_path, hold="K-0001")
            try:
                defer_batches(fleet_url, jobs=1, batch=4)
                wait_until(lambda: (tmp_path / "mid-item").exists(), timeout=120)
                worker.send_signal(signal.SIGTERM)
                (tmp_path / "gate").touch()
                code = worker.wait(timeout=60)
            finally:
                worker.kill()
                _out, errors = worker.communicate()
            assert code == 0, errors
            assert sorted(entered(fleet_url)) == [("K-0000", "bot-a"), ("K-0001", "bot-a")]
            statuses = {row["key"]: (row["status"], row["lease_until"]) for row in store.run_items(RUN)}
            assert statuses["K-0001"] == (ItemStatus.DONE, None)  # the current item finished
            assert [statuses[f"K-000{n}"] for n in range(2, 8)] == [(ItemStatus.PENDING, None)] * 6

    def test_a_worker_killed_mid_item_loses_nothing_its_job_is_retried_and_nothing_is_entered_twice(
        self, fleet_url: str, tmp_path: Path
    ) -> None:
        with RunStore(fleet_url) as store:
            keys = enqueue(ItemLeases(store), 6)
            killed = start_worker(fleet_url, "bot-a", tmp_path, hold="K-0001", lease=1, heartbeat=0.3)
            survivor: subprocess.Popen[str] | None = None
            try:
                defer_batches(fleet_url, jobs=1, batch=3)
                wait_until(lambda: (tmp_path / "mid-item").exists(), timeout=120)
                killed.kill()
                killed.wait(timeout=60)
                (tmp_path / "gate").touch()
                survivor = start_worker(fleet_url, "bot-b", tmp_path, lease=1, heartbeat=0.3)
                # The periodic retry runs when a worker starts, then every minute: here it is also run at once
                # until the killed worker's job is back and done (whichever of the two retries it).
                wait_until(
                    lambda: (
                        asyncio.run(retry_stalled(fleet_url)) >= 0
                        and {row["status"] for row in store.run_items(RUN)} == {ItemStatus.DONE}
                    ),
                    timeout=120,
                    interval=0.3,
                )
            finally:
                killed.kill()
                killed.communicate()
                if survivor is not None:
                    survivor.send_signal(signal.SIGTERM)
                    survivor.wait(timeout=60)
                    survivor.communicate()
            assert sorted(entered(fleet_url)) == [("K-0000", "bot-a")] + [(key, "bot-b") for key in keys[1:]]
            workers = {row["key"]: row["worker"] for row in store.run_items(RUN)}
            assert workers == {"K-0000": "bot-a"} | dict.fromkeys(keys[1:], "bot-b")


async def _retry(url: str) -> int:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(url)))
    async with app.open_async():
        return await retry_stalled_jobs(app, stalled_after=0.9)


def retry_stalled(url: str) -> Coroutine[Any, Any, int]:
    """The fleet's periodic retry of stalled jobs, as it runs every minute, run now."""
    return _retry(url)
