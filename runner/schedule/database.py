"""What the schedule service keeps in the run store's database, beside APScheduler's own job table.

- `schedule_services`: one row per service process, with its heartbeat, so `robo schedule status` can tell
  whether a service is alive.
- `schedule_jobs`: one row per schedule (paused or not), and one per workflow, locked while a fire of one of its
  schedules is claimed, so that claims for one workflow are taken one at a time across processes.
- `schedule_fires`: one row per fire of a schedule, unique on (schedule, due time): the lock that makes one fire
  one run, whichever process takes it first. It holds the owner, the heartbeat and expiry, and the run's outcome.
- `schedule_requests`: `robo schedule run-now` asks a running service through a row it polls.

Times are seconds since the epoch (floats), except the due time of a fire, kept as UTC text, the lock's key.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import pickle
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from robots.kit import _, format_moment
from runner.record import Migrations, open_engine, retry_on_race, taking_turns, upgrade_to_head
from runner.schedule.settings import ACTIVE, REQUEST_MAX_AGE, FireStatus, ServiceState

schedule_metadata = MetaData()
APSCHEDULER_TABLE = "schedule_apscheduler_jobs"

services = Table(
    "schedule_services",
    schedule_metadata,
    Column("id", String(64), primary_key=True),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("beat_at", Float, nullable=False),
    Column("state", String(16), nullable=False),
    Column("schedules", Integer, default=0),
    Column("workflows_dir", Text),
)

jobs = Table(
    "schedule_jobs",
    schedule_metadata,
    Column("job_id", String(300), primary_key=True),
    Column("paused", Integer, nullable=False, default=0),
    Column("changed_at", Float),
    Column("changed_by", String(200)),
)

fires = Table(
    "schedule_fires",
    schedule_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(300), nullable=False),
    Column("fire_time", String(40), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("claimed_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("status", String(32), nullable=False),
    Column("run_pid", Integer),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("exit_code", Integer),
    Column("run_id", String(64)),
    Column("run_dir", Text),
    Column("output", Text),
    Column("detail", Text),
    UniqueConstraint("job_id", "fire_time", name="uq_schedule_fires_job_time"),
    Index("ix_schedule_fires_job_status", "job_id", "status"),
)

requests = Table(
    "schedule_requests",
    schedule_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(300), nullable=False),
    Column("requested_at", Float, nullable=False),
    Column("requested_by", String(200)),
    Column("claimed_by", String(64)),
    Column("claimed_at", Float),
    Column("fire_id", Integer),
)

MIGRATIONS = Migrations("runner.schedule.migrations", "alembic_version_schedule", schedule_metadata)


def workflow_key(job_id: str) -> str:
    """The workflow a schedule belongs to (`saisie/matin` → `saisie`): its runs never overlap."""
    return job_id.split("/", 1)[0]


def fire_key(moment: dt.datetime) -> str:
    """The due time as the lock's key: UTC, to the microsecond, the same text in every process."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_fire_key(key: str) -> dt.datetime:
    return dt.datetime.strptime(key, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def pid_alive(pid: int | None, started_at: float | None) -> bool:
    """Whether a process of this host still runs (and is the one started then, not a reused pid)."""
    from runner.review import process_alive

    return process_alive(pid, None, started_by=started_at) is True


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to take a fire: `run` (ours to start), `taken`, `overlap` or `paused`."""

    outcome: str
    fire_id: int | None = None
    detail: str = ""


class ScheduleDatabase:
    """The schedule service's tables, on the run store's engine."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine if engine is not None else open_engine(url)
        self.host = socket.gethostname()
        upgrade_to_head(self.engine, MIGRATIONS)
        retry_on_race(self._create_apscheduler_table)
        upgrade_job_paths(self.engine)

    def _create_apscheduler_table(self) -> None:
        """APScheduler's own job table, as APScheduler makes it (its migrations are not ours)."""
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        if inspect(self.engine).has_table(APSCHEDULER_TABLE):
            return
        table = SQLAlchemyJobStore(engine=self.engine, tablename=APSCHEDULER_TABLE).jobs_t
        with taking_turns(self.engine) as connection:
            table.create(connection, checkfirst=True)

    def close(self) -> None:
        self.engine.dispose()

    # services and their heartbeat

    def register_service(self, service_id: str, workflows_dir: str) -> None:
        now = time.time()
        with self.engine.begin() as connection:
            connection.execute(
                insert(services).values(
                    id=service_id,
                    host=self.host,
                    pid=os.getpid(),
                    started_at=now,
                    beat_at=now,
                    state=ServiceState.STARTING,
                    schedules=0,
                    workflows_dir=workflows_dir,
                )
            )

    def beat(self, service_id: str, *, state: str, schedules: int | None = None) -> None:
        """The service's heartbeat (each fire extends its own lock while its run lasts)."""
        values: dict[str, Any] = {"beat_at": time.time(), "state": state}
        if schedules is not None:
            values["schedules"] = schedules
        with self.engine.begin() as connection:
            connection.execute(update(services).where(services.c.id == service_id).values(**values))

    def services(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(services).order_by(services.c.beat_at.desc()).limit(limit))
            return [dict(row) for row in rows.mappings()]

    # pause and resume

    def set_paused(self, job_ids: Iterable[str], paused: bool, by: str) -> None:
        now = time.time()
        for job_id in job_ids:
            self._ensure_job(job_id)
            with self.engine.begin() as connection:
                connection.execute(
                    update(jobs)
                    .where(jobs.c.job_id == job_id)
                    .values(paused=int(paused), changed_at=now, changed_by=by)
                )

    def paused(self) -> set[str]:
        with self.engine.connect() as connection:
            return set(connection.execute(select(jobs.c.job_id).where(jobs.c.paused == 1)).scalars())

    def _ensure_job(self, job_id: str) -> None:
        with self.engine.connect() as connection:
            if connection.execute(select(jobs.c.job_id).where(jobs.c.job_id == job_id)).first():
                return
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(jobs).values(job_id=job_id, paused=0))
        except IntegrityError:
            pass  # another process added it first

    # fires: the lock that makes one fire one run

    def claim_fire(
        self, job_id: str, fire_time: str, *, kind: str, owner: str, ttl: float, honour_pause: bool = True
    ) -> Claim:
        """Take a fire for `owner`, atomically; refused when another process took it, or a run of the same
        workflow (by any of its schedules) is still going, or the schedule is paused."""
        workflow = workflow_key(job_id)
        self._ensure_job(job_id)
        self._ensure_job(workflow)
        now = time.time()
        try:
            with self.engine.begin() as connection:
                # The insert comes first: it is the lock (unique on job and due time) and, on SQLite, it takes
                # the database's write lock, so the check below cannot interleave with another claim.
                fire_id = _new_id(
                    connection.execute(
                        insert(fires).values(
                            job_id=job_id,
                            fire_time=fire_time,
                            kind=kind,
                            owner=owner,
                            host=self.host,
                            pid=os.getpid(),
                            claimed_at=now,
                            expires_at=now + ttl,
                            status=FireStatus.CLAIMED,
                        )
                    )
                )
                # On PostgreSQL, the workflow's row serialises claims of its schedules (SQLite ignores FOR UPDATE).
                connection.execute(select(jobs.c.job_id).where(jobs.c.job_id == workflow).with_for_update())
                state = connection.execute(select(jobs.c.paused).where(jobs.c.job_id == job_id)).first()
                outcome, detail = "run", ""
                if honour_pause and state is not None and state.paused:
                    outcome, detail = "paused", _("the schedule is paused")
                else:
                    busy = self._running_other(connection, workflow, fire_id, fire_time, now)
                    if busy is not None:
                        outcome = "overlap"
                        detail = _("the run of {schedule} due {moment} (fire #{fire}) is still going").format(
                            schedule=busy["job_id"],
                            moment=format_moment(parse_fire_key(busy["fire_time"]), labelled=True),
                            fire=busy["id"],
                        )
                if outcome != "run":
                    connection.execute(
                        update(fires)
                        .where(fires.c.id == fire_id)
                        .values(status=FireStatus(f"skipped_{outcome}"), finished_at=now, detail=detail)
                    )
                return Claim(outcome, fire_id, detail)
        except IntegrityError:
            return Claim("taken", None, _("another service took this fire"))

    def _running_other(
        self, connection: Any, workflow: str, fire_id: int, fire_time: str, now: float
    ) -> dict[str, Any] | None:
        rows = connection.execute(
            select(fires).where(
                fires.c.job_id.startswith(f"{workflow}/", autoescape=True),
                fires.c.id != fire_id,
                fires.c.status.in_(ACTIVE),
            )
        ).mappings()
        for row in rows:
            alive = row["expires_at"] > now or (
                row["host"] == self.host and pid_alive(row["run_pid"], row["started_at"])
            )
            # A claim of an earlier due time, not yet started, wins over ours; a started run always does; of two
            # schedules due at the same time, the claim made first (seen here, as claims take turns) wins.
            if alive and (row["status"] == FireStatus.RUNNING or row["fire_time"] <= fire_time):
                return dict(row)
        return None

    def record_fire(
        self, job_id: str, fire_time: str, *, kind: str, owner: str, status: str, detail: str
    ) -> None:
        """A fire that did not run (missed), once, whichever process saw it."""
        now = time.time()
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(fires).values(
                        job_id=job_id,
                        fire_time=fire_time,
                        kind=kind,
                        owner=owner,
                        host=self.host,
                        pid=os.getpid(),
                        claimed_at=now,
                        expires_at=now,
                        finished_at=now,
                        status=status,
                        detail=detail,
                    )
                )
        except IntegrityError:
            pass

    def fire_started(self, fire_id: int, *, run_pid: int, started_at: float, output: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(fires)
                .where(fires.c.id == fire_id)
                .values(status=FireStatus.RUNNING, run_pid=run_pid, started_at=started_at, output=output)
            )

    def fire_queued(self, fire_id: int, *, detail: str) -> None:
        """The fire's run was sent to a fleet's workers (`detail` names the job)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(fires)
                .where(fires.c.id == fire_id, fires.c.status == FireStatus.CLAIMED)
                .values(status=FireStatus.QUEUED, detail=detail)
            )

    def fire_taken(self, fire_id: int, *, owner: str, run_pid: int, started_at: float, ttl: float) -> bool:
        """A fleet's worker starts (or resumes) the fire's run: the fire is its own (owner, host, pid, lock's
        expiry) while the run lasts; False when the fire already has its outcome."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(fires)
                .where(fires.c.id == fire_id, fires.c.status.in_(ACTIVE))
                .values(
                    status=FireStatus.RUNNING,
                    owner=owner,
                    host=self.host,
                    pid=os.getpid(),
                    run_pid=run_pid,
                    started_at=started_at,
                    expires_at=time.time() + ttl,
                )
            )
            return bool(result.rowcount)

    def extend_fire(self, fire_id: int, ttl: float) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(fires)
                .where(fires.c.id == fire_id, fires.c.status.in_(ACTIVE))
                .values(expires_at=time.time() + ttl)
            )

    def fire_finished(self, fire_id: int, **values: Any) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(fires).where(fires.c.id == fire_id).values(finished_at=time.time(), **values)
            )

    def fire(self, fire_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(fires).where(fires.c.id == fire_id)).mappings().first()
            return dict(row) if row else None

    def fires(self, job_id: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        query = select(fires).order_by(fires.c.id.desc()).limit(limit)
        if job_id is not None:
            query = query.where(fires.c.job_id == job_id)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def previous_outcome(self, job_id: str, before_id: int, decisive: Iterable[str]) -> str | None:
        """The status of the last finished run of a schedule before fire `before_id`, among `decisive` ones."""
        with self.engine.connect() as connection:
            return connection.execute(
                select(fires.c.status)
                .where(fires.c.job_id == job_id, fires.c.id < before_id, fires.c.status.in_(list(decisive)))
                .order_by(fires.c.id.desc())
                .limit(1)
            ).scalar()

    def running_fires(self) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(fires).where(fires.c.status.in_(ACTIVE)).order_by(fires.c.id))
            return [dict(row) for row in rows.mappings()]

    def adopt_orphan(self, fire_id: int, owner: str, ttl: float) -> bool:
        """Take over a fire whose owner stopped beating (at most one process succeeds)."""
        now = time.time()
        with self.engine.begin() as connection:
            result = connection.execute(
                update(fires)
                .where(fires.c.id == fire_id, fires.c.status.in_(ACTIVE), fires.c.expires_at < now)
                .values(owner=owner, expires_at=now + ttl)
            )
            return bool(result.rowcount)

    # run-now requests

    def request_run(self, job_id: str, by: str) -> int:
        with self.engine.begin() as connection:
            return _new_id(
                connection.execute(
                    insert(requests).values(job_id=job_id, requested_at=time.time(), requested_by=by)
                )
            )

    def take_requests(self, owner: str, max_age: float = REQUEST_MAX_AGE) -> list[dict[str, Any]]:
        """Requests nobody took yet, now ours (a conditional update, so each is taken once).

        A request older than `max_age` seconds is dropped rather than run: nobody was there to take it in time.
        """
        taken = []
        with self.engine.begin() as connection:
            connection.execute(
                update(requests)
                .where(requests.c.claimed_by.is_(None), requests.c.requested_at < time.time() - max_age)
                .values(claimed_by="expired", claimed_at=time.time())
            )
        with self.engine.connect() as connection:
            pending = connection.execute(
                select(requests).where(requests.c.claimed_by.is_(None)).order_by(requests.c.id)
            ).mappings()
            candidates = [dict(row) for row in pending]
        for row in candidates:
            with self.engine.begin() as connection:
                result = connection.execute(
                    update(requests)
                    .where(requests.c.id == row["id"], requests.c.claimed_by.is_(None))
                    .values(claimed_by=owner, claimed_at=time.time())
                )
            if result.rowcount:
                taken.append(row)
        return taken

    def request_fired(self, request_id: int, fire_id: int | None) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(requests).where(requests.c.id == request_id).values(fire_id=fire_id))

    def request(self, request_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(requests).where(requests.c.id == request_id)).mappings().first()
            return dict(row) if row else None


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


MOVED_MODULES = {
    "runner.scheduler": "runner.schedule.service",
    "runner._schedule_triggers": "runner.language.triggers",
}
"""Where modules that APScheduler pickled by name before the reshape of 2026-11 now live."""


class _MovedModules(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(MOVED_MODULES.get(module, module), name)


def upgrade_job_paths(engine: Engine) -> int:
    """Rewrite stored jobs that name a module by its old path, so that APScheduler keeps them.

    APScheduler stores each job as a pickle holding its function as `"module:function"` and its trigger by class
    path; a job naming a module that no longer exists is dropped with its next fire time when loaded. Only rows
    holding an old path are read and written again (in one transaction); returns how many were.
    """
    table = Table(APSCHEDULER_TABLE, MetaData(), autoload_with=engine)
    olds = [old.encode() for old in MOVED_MODULES]
    count = 0
    with engine.begin() as connection:
        for job_id, state in connection.execute(select(table.c.id, table.c.job_state)).all():
            if not any(old in state for old in olds):
                continue
            job = _MovedModules(io.BytesIO(state)).load()
            module, _, function = str(job.get("func", "")).partition(":")
            if module in MOVED_MODULES:
                job["func"] = f"{MOVED_MODULES[module]}:{function}"
            fresh = pickle.dumps(job, pickle.HIGHEST_PROTOCOL)
            connection.execute(update(table).where(table.c.id == job_id).values(job_state=fresh))
            count += 1
    return count
