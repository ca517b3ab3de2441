"""The fleet's workers' registry: a worker registers under a name no live worker has, beats, is marked stopped, and
is seen silent when its beats stop; on SQLite and on a real PostgreSQL, with real processes where it matters."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from robots.kit import RoboError
from runner.fleet import FleetWorkers, WorkerNameTaken, WorkerState, default_worker_name
from runner.record import RunStore
from tests.waiting import wait_until

ROOT = Path(__file__).parents[2]


def states(workers: FleetWorkers) -> dict[str, WorkerState]:
    return {record.name: record.state for record in workers.list()}


class TestRegistration:
    def test_a_worker_registers_with_its_queues_and_is_alive(self, store_url: str) -> None:
        with RunStore(store_url) as store:
            workers = FleetWorkers(store)
            workers.register("bot-a", queues=["browser", "desktop"], concurrency=2, heartbeat_seconds=5)
            [record] = workers.list()
            assert (record.name, record.state, record.queues, record.concurrency) == (
                "bot-a",
                WorkerState.ALIVE,
                ("browser", "desktop"),
                2,
            )
            assert (record.host, record.pid) == (socket.gethostname(), os.getpid())
            assert record.stopped_at is None and 0 <= record.beat_age < 5

    def test_a_name_a_live_worker_has_is_refused_with_a_hint(self, store_url: str) -> None:
        with RunStore(store_url) as store:
            workers = FleetWorkers(store)
            workers.register("bot-a", heartbeat_seconds=30)
            with pytest.raises(WorkerNameTaken) as refused:
                workers.register("bot-a", heartbeat_seconds=30, host="autre-machine", pid=1)
            assert "bot-a" in refused.value.message and "live worker" in refused.value.message
            assert refused.value.hint and "--name" in refused.value.hint
            assert isinstance(refused.value, RoboError)

    def test_a_stopped_worker_s_name_is_taken_over_and_the_old_one_beats_no_more(
        self, store_url: str
    ) -> None:
        with RunStore(store_url) as store:
            workers = FleetWorkers(store)
            first = workers.register("bot-a", heartbeat_seconds=30)
            workers.stopped(first)
            assert states(workers) == {"bot-a": WorkerState.STOPPED}
            second = workers.register("bot-a", heartbeat_seconds=30, host="autre-machine", pid=1)
            assert second.token == first.token + 1
            assert states(workers) == {"bot-a": WorkerState.ALIVE}
            assert workers.beat(first) is False and workers.beat(second) is True
            workers.stopped(first)  # late: the new worker stays alive
            assert states(workers) == {"bot-a": WorkerState.ALIVE}

    def test_a_worker_that_stops_beating_is_silent_after_three_heartbeats_and_its_name_free(
        self, store_url: str
    ) -> None:
        with RunStore(store_url) as store:
            workers = FleetWorkers(store)
            workers.register("bot-a", heartbeat_seconds=0.2, host="autre-machine", pid=1)
            assert states(workers) == {"bot-a": WorkerState.ALIVE}
            wait_until(lambda: states(workers) == {"bot-a": WorkerState.SILENT}, timeout=10)
            [record] = workers.list()
            assert record.beat_age > 0.6
            workers.register("bot-a", heartbeat_seconds=30)  # taken over
            assert states(workers) == {"bot-a": WorkerState.ALIVE}

    def test_a_worker_restarted_on_its_host_takes_its_name_back_from_its_dead_process(
        self, store_url: str
    ) -> None:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
        with RunStore(store_url) as store:
            workers = FleetWorkers(store)
            workers.register("bot-a", heartbeat_seconds=30, pid=int(dead.stdout))  # killed -9 a moment ago
            workers.register("bot-a", heartbeat_seconds=30)
            [record] = workers.list()
            assert (record.pid, record.state) == (os.getpid(), WorkerState.ALIVE)

    def test_the_default_name_is_the_host_s_then_numbered(self, store_url: str) -> None:
        with RunStore(store_url) as store:
            workers = FleetWorkers(store)
            names = [workers.register_default(heartbeat_seconds=30).name for _ in range(3)]
            host = socket.gethostname().split(".")[0]
            assert names == [host, f"{host}-2", f"{host}-3"] and default_worker_name() == host

    def test_two_workers_claiming_one_name_at_once_one_wins(self, store_url: str) -> None:
        with RunStore(store_url) as store:
            workers = FleetWorkers(store)
            for round_number in range(10):
                name = f"bot-{round_number}"
                start = threading.Barrier(2)
                outcomes: list[str] = []

                def claim(
                    host: str,
                    name: str = name,
                    start: threading.Barrier = start,
                    outcomes: list[str] = outcomes,
                ) -> None:
                    start.wait()
                    try:
                        workers.register(name, heartbeat_seconds=30, host=host, pid=1)
                        outcomes.append("registered")
                    except WorkerNameTaken:
                        outcomes.append("refused")

                threads = [threading.Thread(target=claim, args=(f"machine-{n}",)) for n in range(2)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                assert sorted(outcomes) == ["refused", "registered"], round_number

    def test_a_machine_taken_out_is_forgotten_but_never_a_live_worker(self, store_url: str) -> None:
        with RunStore(store_url) as store:
            workers = FleetWorkers(store)
            workers.register("bot-live", heartbeat_seconds=30)
            workers.register("bot-gone", heartbeat_seconds=0.1, host="autre-machine", pid=1)
            wait_until(lambda: states(workers)["bot-gone"] == WorkerState.SILENT, timeout=10)
            with pytest.raises(WorkerNameTaken):
                workers.forget("bot-live")
            assert workers.forget("bot-gone") is True and workers.forget("bot-gone") is False
            assert states(workers) == {"bot-live": WorkerState.ALIVE}


class TestPresence:
    def test_a_present_worker_beats_and_is_marked_stopped_when_it_ends_even_by_an_error(
        self, store_url: str
    ) -> None:
        with RunStore(store_url) as store:
            workers = FleetWorkers(store)
            with pytest.raises(RuntimeError, match="crash"), workers.present("bot-a", heartbeat_seconds=0.1):
                beats: set[str] = set()

                def beaten_five_times() -> bool:  # longer than three heartbeats, alive all along
                    [record] = workers.list()
                    assert record.state == WorkerState.ALIVE
                    beats.add(record.heartbeat_at)
                    return len(beats) >= 5

                wait_until(beaten_five_times, timeout=10)
                raise RuntimeError("crash")
            [record] = workers.list()
            assert record.state == WorkerState.STOPPED and record.stopped_at is not None

    def test_without_a_name_a_present_worker_takes_the_default_one(self, store_url: str) -> None:
        with RunStore(store_url) as store:
            workers = FleetWorkers(store)
            with workers.present(None, queues=["browser"], heartbeat_seconds=30) as registration:
                assert registration.name == default_worker_name()
                with workers.present(None, heartbeat_seconds=30) as second:
                    assert second.name == default_worker_name() + "-2"


REGISTER = """
import sys, time
from pathlib import Path
from runner.fleet import FleetWorkers, WorkerNameTaken
from runner.record import RunStore
url, name, gate = sys.argv[1], sys.argv[2], Path(sys.argv[3])
with RunStore(url) as store:
    workers = FleetWorkers(store)
    (gate.parent / f"ready-{sys.argv[4]}").touch()
    while not gate.exists():
        time.sleep(0.001)
    try:
        workers.register(name, heartbeat_seconds=30)
    except WorkerNameTaken as exc:
        print(exc.message)
        sys.exit(3)
"""


def test_two_processes_claiming_one_name_on_postgres_one_wins(postgres_url: str, tmp_path: Path) -> None:
    RunStore(postgres_url).close()  # the tables made once, before the race
    gate = tmp_path / "gate"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", REGISTER, postgres_url, "bot-a", str(gate), str(n)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    wait_until(lambda: all((tmp_path / f"ready-{n}").exists() for n in range(2)), timeout=60)
    gate.touch()
    outcomes = [(process.wait(timeout=60), *process.communicate()) for process in processes]
    assert sorted(code for code, _out, _err in outcomes) == [0, 3], outcomes
    refused = next(out for code, out, _err in outcomes if code == 3)
    assert "bot-a" in refused and "live worker" in refused
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM fleet_workers")).scalar_one() == 1
    engine.dispose()
