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
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import procrastinate
import pytest
from sqlalchemy import create_engine, text

from runner.events import ItemStatus
from runner.fleet import (
    ITEMS_TASK,
    DoItem,
    ItemResult,
    Lane,
    LoopDispatch,
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
                        plain(lambda lease: _entered(done, lease)),
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
                args=(leases, RUN, LOOP, "bot-lent", plain(slow)),
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
                plain(lambda lease: _entered(done, lease)),
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
                work_on_items(leases, RUN, LOOP, "bot-a", plain(broken), batch=3, lease_seconds=300)
            again = leases.claim(RUN, LOOP, "bot-b", 10, 300)  # not 300 s later: now
            assert [(lease.key, lease.reclaimed) for lease in again] == [
                ("K-0001", True),
                ("K-0002", False),
                ("K-0003", False),
            ]

    def test_the_lane_opens_once_for_all_batches_and_not_at_all_when_nothing_is_left(
        self, store_url: str
    ) -> None:
        with RunStore(store_url) as store:
            leases = ItemLeases(store)
            enqueue(leases, 7)
            opened: list[str] = []
            done: list[str] = []

            @contextmanager
            def lane() -> Iterator[DoItem]:
                opened.append("setup")  # a login
                yield lambda lease: _entered(done, lease)
                opened.append("closed")

            report = work_on_items(leases, RUN, LOOP, "bot-a", lane, batch=3)
            assert opened == ["setup", "closed"] and len(report.finished) == 7
            assert work_on_items(leases, RUN, LOOP, "bot-b", lane, batch=3).finished == []
            assert opened == ["setup", "closed"]  # nothing claimed: no login

    def test_a_lane_that_cannot_open_gives_its_batch_back(self, store_url: str) -> None:
        with RunStore(store_url) as store:
            leases = ItemLeases(store)
            enqueue(leases, 2)

            @contextmanager
            def refused() -> Iterator[DoItem]:
                raise RuntimeError("login refused")
                yield _nothing  # pragma: no cover

            with pytest.raises(RuntimeError, match="login refused"):
                work_on_items(leases, RUN, LOOP, "bot-a", refused, batch=5)
            assert {row["status"] for row in store.run_items(RUN)} == {ItemStatus.PENDING}


class TestLoopDispatch:
    def test_items_left_by_a_dead_worker_after_the_jobs_ended_get_one_more_job(self, fleet_url: str) -> None:
        with RunStore(fleet_url) as store, dispatch(fleet_url, store) as parent:
            leases = ItemLeases(store)
            parent.start(entries(4))
            assert parent.live_jobs() == 2  # one per lane
            clear_jobs(fleet_url)  # the jobs ended...
            leases.claim(RUN, LOOP, "bot-dead", 2, 0.3)  # ...while a worker that then died held two items
            done = plain(lambda lease: _entered([], lease))
            work_on_items(leases, RUN, LOOP, "bot-b", done)  # the others were done
            assert parent.keep_going().held == 2 and parent.live_jobs() == 0  # leases still running: wait
            wait_until(lambda: parent.keep_going().expired == 2, timeout=30)
            assert parent.live_jobs() == 1
            parent.keep_going()
            assert parent.live_jobs() == 1  # asked again: still one job waiting (queueing lock)
            work_on_items(leases, RUN, LOOP, "bot-c", done)
            tally = parent.keep_going()
            assert (tally.open, tally.finished) == (0, 4)

    def test_pending_items_with_no_job_left_get_one(self, fleet_url: str) -> None:
        with RunStore(fleet_url) as store, dispatch(fleet_url, store) as parent:
            parent.start(entries(3))
            clear_jobs(fleet_url)  # jobs lost (deleted by hand, a database restored)
            assert parent.keep_going().pending == 3
            assert parent.live_jobs() == 1


def entries(count: int) -> list[tuple[str, int, dict[str, int]]]:
    return [(f"K-{number:04d}", number, {"n": number}) for number in range(count)]


def dispatch(url: str, store: RunStore) -> LoopDispatch:
    return LoopDispatch(url, ItemLeases(store), RUN, LOOP, queue="browser", lanes=2, batch=5)


def clear_jobs(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM procrastinate_jobs"))
    engine.dispose()


def plain(do_item: DoItem) -> Lane:
    """A lane with nothing to set up."""
    return lambda: nullcontext(do_item)


def _nothing(lease: ItemLease) -> ItemResult:
    return ItemResult(ItemStatus.DONE)


def _entered(done: list[str], lease: ItemLease) -> ItemResult:
    done.append(lease.key)
    return ItemResult(ItemStatus.DONE, outcome=dict(lease.payload))


WORKER = """
import sys, time
from contextlib import contextmanager
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

@contextmanager
def open_lane(run_id, loop, worker):
    yield do_item

run_worker(url, open_lane, queues=["browser"], name=name, lease_seconds=lease, worker_heartbeat=heartbeat)
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

    def test_a_worker_killed_mid_item_loses_nothing_and_nothing_is_entered_twice(
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
                # What happens in a fleet: the periodic retry gives the killed worker's job back (it runs when a
                # worker starts, then every minute: here at once), and the parent run, which waits for the loop,
                # sends one more job if the items the killed worker held expire after every job ended.
                with LoopDispatch(
                    fleet_url, ItemLeases(store), RUN, LOOP, queue="browser", lanes=1, batch=3
                ) as parent:
                    wait_until(
                        lambda: asyncio.run(retry_stalled(fleet_url)) >= 0 and parent.keep_going().open == 0,
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


def test_a_stalled_job_retried_or_ended_meanwhile_is_skipped_and_a_database_failure_is_not() -> None:
    """Between listing the stalled jobs and retrying each, another worker's retry (or the job's end) may come
    first: Procrastinate then refuses that one retry, and the others still go back to their queue."""
    import psycopg
    from procrastinate.exceptions import ConnectorException

    def refused(cause: Exception) -> ConnectorException:
        try:
            raise ConnectorException() from cause
        except ConnectorException as exc:
            return exc

    class Jobs:
        def __init__(self, failures: dict[int, Exception]) -> None:
            self.failures, self.retried = failures, list[int]()

        async def get_stalled_jobs(self, seconds_since_heartbeat: float) -> list[int]:
            return [1, 2, 3]

        async def retry_job(self, job: int) -> None:
            if job in self.failures:
                raise self.failures[job]
            self.retried.append(job)

    class App:
        def __init__(self, jobs: Jobs) -> None:
            self.job_manager = jobs

    gone = refused(psycopg.errors.RaiseException('Job was not found or not in "doing" status'))
    jobs = Jobs({2: gone})
    assert asyncio.run(retry_stalled_jobs(App(jobs), stalled_after=1)) == 2  # type: ignore[arg-type]
    assert jobs.retried == [1, 3]
    lost = refused(psycopg.OperationalError("connection lost"))
    with pytest.raises(ConnectorException):
        asyncio.run(retry_stalled_jobs(App(Jobs({2: lost})), stalled_after=1))  # type: ignore[arg-type]
