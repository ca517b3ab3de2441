"""Jobs stored before the modules moved keep their schedule and their next fire time.

APScheduler stores a job as a pickle naming its function as `"module:function"` and its trigger by class path. The
schedule database of an installation made before the reshape holds `runner.scheduler:scheduled_run` and
`runner._schedule_triggers.ScheduleTrigger`; left alone, APScheduler would drop those jobs (and a fire that was due
while the service was stopped) the first time it loads them.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

import runner.language.triggers as triggers_module
import runner.schedule.service as service_module
from runner.language import ScheduleTrigger
from runner.schedule import ScheduleDatabase
from runner.schedule.database import APSCHEDULER_TABLE, MOVED_MODULES, upgrade_job_paths
from runner.schedule.service import JOB_FUNCTION

OLD_FUNCTION = "runner.scheduler:scheduled_run"


@contextmanager
def modules_at_their_old_paths() -> Iterator[None]:
    """Make pickle and APScheduler write the paths the code had before the move."""
    sys.modules["runner.scheduler"] = service_module
    sys.modules["runner._schedule_triggers"] = triggers_module
    ScheduleTrigger.__module__ = "runner._schedule_triggers"
    try:
        yield
    finally:
        ScheduleTrigger.__module__ = triggers_module.__name__
        del sys.modules["runner.scheduler"], sys.modules["runner._schedule_triggers"]


def job_store(database: ScheduleDatabase) -> SQLAlchemyJobStore:
    store = SQLAlchemyJobStore(engine=database.engine, tablename=APSCHEDULER_TABLE)
    store.start(BackgroundScheduler(timezone=dt.UTC), "default")
    return store


def store_old_job(url: str, next_run: dt.datetime) -> None:
    database = ScheduleDatabase(url)
    store = job_store(database)
    with modules_at_their_old_paths():
        job = Job(
            store._scheduler,
            id="saisie.yaml#0",
            func=OLD_FUNCTION,
            trigger=ScheduleTrigger(cron="0 7 * * 1-5", timezone="Europe/Paris"),
            executor="default",
            args=(),
            kwargs={"fingerprint": "abc"},
            name="saisie.yaml",
            misfire_grace_time=3600,
            coalesce=True,
            max_instances=1,
            next_run_time=next_run,
        )
        store.add_job(job)
    with database.engine.connect() as connection:
        (state,) = connection.execute(select(store.jobs_t.c.job_state)).one()
    assert b"runner._schedule_triggers" in state and OLD_FUNCTION.encode() in state  # the fixture is faithful
    database.close()


def test_a_job_stored_with_the_old_paths_is_kept_with_its_next_fire_time(store_url: str) -> None:
    due = dt.datetime(2026, 5, 4, 5, 0, tzinfo=dt.UTC)  # a fire that fell due while the service was stopped
    store_old_job(store_url, due)

    database = ScheduleDatabase(store_url)  # opening the database upgrades the stored jobs
    try:
        jobs = job_store(database).get_all_jobs()
        assert [job.id for job in jobs] == ["saisie.yaml#0"]
        (job,) = jobs
        assert job.func_ref == JOB_FUNCTION
        assert isinstance(job.trigger, ScheduleTrigger)
        assert job.next_run_time == due
        assert job.kwargs == {"fingerprint": "abc"}
        assert upgrade_job_paths(database.engine) == 0  # a second opening has nothing left to rewrite
    finally:
        database.close()


def test_every_old_path_names_a_module_that_exists() -> None:
    for new in MOVED_MODULES.values():
        __import__(new)
