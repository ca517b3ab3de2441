"""The schedule service's database: one fire is one run, no overlap, pauses, requests, heartbeats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from runner.schedule import FireLauncher, ScheduleDatabase, fires, load_schedules

T1 = "2026-05-04T05:00:00.000000Z"
T2 = "2026-05-04T05:15:00.000000Z"
T3 = "2026-05-04T05:30:00.000000Z"


@pytest.fixture
def url(store_url: str) -> str:
    """The store's database: each test runs on SQLite, then on PostgreSQL (where FOR UPDATE locks for real)."""
    return store_url


@pytest.fixture
def db(url: str) -> Iterator[ScheduleDatabase]:
    database = ScheduleDatabase(url)
    yield database
    database.close()


def start(db: ScheduleDatabase, fire_id: int, pid: int | None = None) -> None:
    db.fire_started(fire_id, run_pid=pid or os.getpid(), started_at=time.time() - 1, output="")


def claim_together(url: str, claimers: list[tuple[str, str]]) -> list[str]:
    """Claims of the fire due at T1 by (schedule, owner) pairs, from threads released at once; their outcomes."""
    ScheduleDatabase(url).close()  # create the tables before the race
    outcomes: list[str] = []
    barrier = threading.Barrier(len(claimers))

    def claim(job_id: str, owner: str) -> None:
        database = ScheduleDatabase(url)  # an engine each: separate connections, as separate processes have
        barrier.wait()
        outcomes.append(database.claim_fire(job_id, T1, kind="scheduled", owner=owner, ttl=60).outcome)
        database.close()

    threads = [threading.Thread(target=claim, args=claimer) for claimer in claimers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


class TestOneFireOneRun:
    def test_the_second_claim_of_a_fire_is_refused(self, url: str) -> None:
        first, second = ScheduleDatabase(url), ScheduleDatabase(url)
        assert first.claim_fire("w/1", T1, kind="scheduled", owner="a", ttl=60).outcome == "run"
        assert second.claim_fire("w/1", T1, kind="scheduled", owner="b", ttl=60).outcome == "taken"
        first.close()
        second.close()

    def test_racing_processes_get_one_claim_between_them(self, url: str) -> None:
        outcomes = claim_together(url, [("w/1", f"s{index}") for index in range(8)])
        assert Counter(outcomes) == {"run": 1, "taken": 7}

    def test_a_missed_fire_is_recorded_once(self, db: ScheduleDatabase) -> None:
        for owner in ("a", "b"):
            db.record_fire("w/1", T1, kind="scheduled", owner=owner, status="missed", detail="late")
        assert [(row["status"], row["owner"]) for row in db.fires("w/1")] == [("missed", "a")]


class TestNoOverlap:
    def test_schedules_of_one_workflow_due_at_once_racing_give_one_run(self, url: str) -> None:
        # Each claimer inserts its own fire row (no unique key collides): only the lock on the workflow's row
        # (FOR UPDATE on PostgreSQL, the write lock on SQLite) keeps two claimers from missing each other.
        outcomes = claim_together(url, [(f"w/{index}", f"s{index}") for index in range(8)])
        assert Counter(outcomes) == {"run": 1, "overlap": 7}

    def test_a_fire_is_refused_while_the_previous_run_lasts(self, db: ScheduleDatabase) -> None:
        first = db.claim_fire("w/1", T1, kind="scheduled", owner="a", ttl=60)
        assert first.fire_id is not None
        start(db, first.fire_id)
        second = db.claim_fire("w/1", T2, kind="scheduled", owner="b", ttl=60)
        assert second.outcome == "overlap"
        assert "is still going" in second.detail
        assert db.fire(second.fire_id or 0)["status"] == "skipped_overlap"  # type: ignore[index]
        db.fire_finished(first.fire_id, status="succeeded")
        assert db.claim_fire("w/1", T3, kind="scheduled", owner="b", ttl=60).outcome == "run"

    def test_another_schedule_of_the_workflow_waits_too_another_workflow_does_not(
        self, db: ScheduleDatabase, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ROBO_TIMEZONE", "Europe/Paris")  # the zone for humans, whatever the machine's
        first = db.claim_fire("w_1/matin", T1, kind="scheduled", owner="a", ttl=60)
        start(db, first.fire_id or 0)
        other = db.claim_fire("w_1/soir", T2, kind="scheduled", owner="a", ttl=60)
        assert other.outcome == "overlap"
        # The busy run's due time as people read it: in the zone for humans, named.
        assert other.detail.startswith("the run of w_1/matin due 2026-05-04 07:00:00 (Europe/Paris) (fire #")
        assert db.claim_fire("wx1/matin", T2, kind="scheduled", owner="a", ttl=60).outcome == "run"  # not w_1
        assert db.claim_fire("w_10/matin", T2, kind="scheduled", owner="a", ttl=60).outcome == "run"

    def test_an_earlier_claim_wins_over_a_later_one_not_the_reverse(self, db: ScheduleDatabase) -> None:
        # Two services lagging differently: the later due time is claimed first, not started yet.
        later = db.claim_fire("w/1", T2, kind="scheduled", owner="b", ttl=60)
        assert later.outcome == "run"
        assert db.claim_fire("w/1", T1, kind="scheduled", owner="a", ttl=60).outcome == "run"
        assert db.claim_fire("w/1", T3, kind="scheduled", owner="c", ttl=60).outcome == "overlap"

    def test_a_run_left_by_a_dead_service_on_another_host_expires(self, db: ScheduleDatabase) -> None:
        first = db.claim_fire("w/1", T1, kind="scheduled", owner="a", ttl=60)
        start(db, first.fire_id or 0)
        with db.engine.begin() as connection:
            connection.execute(update(fires).values(host="elsewhere", expires_at=time.time() - 1))
        assert db.claim_fire("w/1", T2, kind="scheduled", owner="b", ttl=60).outcome == "run"

    def test_an_orphan_run_still_alive_on_this_host_still_counts(self, db: ScheduleDatabase) -> None:
        first = db.claim_fire("w/1", T1, kind="scheduled", owner="a", ttl=60)
        start(db, first.fire_id or 0, pid=os.getpid())  # this very process stands for the orphan run
        with db.engine.begin() as connection:
            connection.execute(update(fires).values(expires_at=time.time() - 1))
        assert db.claim_fire("w/1", T2, kind="scheduled", owner="b", ttl=60).outcome == "overlap"
        assert db.adopt_orphan(first.fire_id or 0, "b", 60)
        assert not db.adopt_orphan(first.fire_id or 0, "c", 60)  # taken over once


class TestPauseAndRequests:
    def test_a_paused_schedule_does_not_fire_but_runs_when_asked(self, db: ScheduleDatabase) -> None:
        db.set_paused(["w/1"], True, by="agent")
        assert db.paused() == {"w/1"}
        assert db.claim_fire("w/1", T1, kind="scheduled", owner="a", ttl=60).outcome == "paused"
        assert db.claim_fire("w/1", T2, kind="manual", owner="a", ttl=60, honour_pause=False).outcome == "run"
        db.set_paused(["w/1"], False, by="agent")
        assert db.paused() == set()

    def test_each_request_is_taken_by_one_service(self, url: str) -> None:
        first, second = ScheduleDatabase(url), ScheduleDatabase(url)
        ids = [first.request_run("w/1", "agent") for _ in range(3)]
        taken = first.take_requests("a") + second.take_requests("b")
        assert sorted(row["id"] for row in taken) == ids
        assert second.take_requests("b") == []
        first.close()
        second.close()

    def test_a_request_nobody_took_in_time_is_dropped(self, db: ScheduleDatabase) -> None:
        db.request_run("w/1", "agent")
        time.sleep(0.05)
        assert db.take_requests("a", max_age=0.01) == []

    def test_heartbeat(self, db: ScheduleDatabase) -> None:
        db.register_service("svc", "/srv/workflows")
        db.beat("svc", state="running", schedules=12)
        (row,) = db.services()
        assert (row["state"], row["schedules"], row["pid"]) == ("running", 12, os.getpid())


class TestSchedulesOfAFile:
    def test_ids_fingerprints_and_closed_days(self, tmp_path: Path) -> None:
        (tmp_path / "fermetures.txt").write_text("2026-05-04\n", encoding="utf-8")
        path = tmp_path / "saisie.yaml"
        path.write_text(
            "name: Saisie\nschedule:\n"
            '  - {name: Matin, cron: "0 7 * * mon-fri", closed_days_file: fermetures.txt}\n'
            "  - {every: 60}\n"
            "steps: [{log: a}]\n",
            encoding="utf-8",
        )
        loaded = load_schedules(path)
        assert loaded.ok
        assert [spec.job_id for spec in loaded.specs] == ["saisie/matin", "saisie/2"]
        assert loaded.specs[0].trigger.closed_days
        assert loaded.specs[0].misfire_grace_time is None
        assert not loaded.changed()
        (tmp_path / "fermetures.txt").write_text("2026-05-04\n2026-05-05\n", encoding="utf-8")
        assert loaded.changed()
        again = load_schedules(path)
        assert again.specs[0].fingerprint != loaded.specs[0].fingerprint
        assert again.specs[1].fingerprint == loaded.specs[1].fingerprint

    def test_a_schedule_named_without_latin_letters_gets_its_position_as_id(self, tmp_path: Path) -> None:
        path = tmp_path / "saisie.yaml"
        path.write_text(
            "name: Saisie\nschedule:\n  - {name: 朝, every: 60}\n  - {name: 夜, every: 120}\nsteps: [{log: a}]\n",
            encoding="utf-8",
        )
        loaded = load_schedules(path)
        assert loaded.ok, [d.message for d in loaded.diagnostics]
        assert [spec.job_id for spec in loaded.specs] == ["saisie/1", "saisie/2"]

    def test_a_missing_closed_days_file_is_an_error_at_its_place(self, tmp_path: Path) -> None:
        path = tmp_path / "saisie.yaml"
        path.write_text(
            "name: Saisie\nschedule:\n  - every: 60\n    closed_days_file: absent.txt\nsteps: [{log: a}]\n",
            encoding="utf-8",
        )
        loaded = load_schedules(path)
        assert not loaded.ok
        assert loaded.specs == []
        (problem,) = loaded.diagnostics
        assert (problem.span.line, problem.span.col, problem.code) == (4, 23, "bad-schedule")
        assert "does not exist" in problem.message


class TestOrphanRuns:
    def test_a_run_left_by_a_dead_service_is_taken_over_then_recorded(
        self, db: ScheduleDatabase, url: str, tmp_path: Path
    ) -> None:
        output = tmp_path / "fire-1.json"
        summary = {
            "status": "failed",
            "run_id": "20260504-070000-abcdef",
            "run_dir": str(tmp_path / "run"),
            "counts": {"steps": 2},
            "errors": [{"file": "w.yaml", "line": 3, "col": 5, "message": "boom"}],
        }
        # The run outlives its service (kill -9): a process that prints what `robo run --format json` prints.
        code = "import json, sys, time; time.sleep(0.5); open(sys.argv[1], 'w').write(sys.argv[2])"
        child = subprocess.Popen([sys.executable, "-c", code, str(output), json.dumps(summary)])
        claim = db.claim_fire("w/1", T1, kind="scheduled", owner="dead", ttl=60)
        assert claim.fire_id is not None
        db.fire_started(claim.fire_id, run_pid=child.pid, started_at=time.time(), output=str(output))
        with db.engine.begin() as connection:
            connection.execute(update(fires).values(expires_at=time.time() - 1))
        launcher = FireLauncher(db, owner="new", logs_dir=tmp_path, store_url=url, environ={})
        launcher.reap(lambda job_id: None)
        assert claim.fire_id in launcher.watched
        assert db.fire(claim.fire_id)["owner"] == "new"  # type: ignore[index]
        child.wait()
        launcher.reap(lambda job_id: None)
        row = db.fire(claim.fire_id)
        assert row is not None
        assert (row["status"], row["run_id"], row["detail"]) == (
            "failed",
            summary["run_id"],
            "w.yaml:3:5: boom",
        )
        assert launcher.watched == {}
