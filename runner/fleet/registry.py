"""The fleet's workers' registry: each worker says who it is when it starts, beats while it runs, and says when it
stops, in the run store's `fleet_workers` table; `robo fleet status` and the console read it.

A worker's state is derived when it is read, from its last beat and its own heartbeat length: `alive` while it beat
within three heartbeats, `stopped` once it said so, `silent` otherwise (killed, frozen, its machine switched off):
the same three missed beats after which Procrastinate's stalled jobs are retried.

A name belongs to one live worker at a time. Registering a name held by a live worker is refused; a stopped or
silent worker's name is taken over, and so is the name of a worker registered from this host whose process is gone
(a worker restarted by systemd right after a crash need not wait for three missed beats). Each registration bumps
the row's token: a worker whose name was taken over (it froze, was thought dead, then woke) no longer beats.

A worker's row stays after it stopped or went silent (the fleet's history of machines) until a new worker takes its
name or someone forgets it (`forget`, `robo fleet forget NAME`: a machine taken out of the fleet), so that a
worker that died is reported until a person has looked at it.

The default name is the host's short name; when a live worker already has it (several workers on one machine), the
first free of `host-2`, `host-3`, … Moments are the database server's on PostgreSQL, as for the item leases.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from robots.kit import N_, RoboError, _
from runner.record import RunStore, UtcTimestamp, as_utc, fleet_workers

SILENT_AFTER_HEARTBEATS = 3  # a worker that missed that many beats is silent (dead)
MAX_DEFAULT_NAMES = 100  # `host`, `host-2`, … `host-100`: more workers on one machine is a mistake
LOG = logging.getLogger("robo.fleet")


class WorkerState(StrEnum):
    """A registered worker's state, derived from its beats."""

    ALIVE = "alive"
    STOPPED = "stopped"
    SILENT = "silent"  # it stopped beating without saying it stops: killed, frozen, its machine off


WORKER_STATE_TEXTS = {
    WorkerState.ALIVE: N_("alive"),
    WorkerState.STOPPED: N_("stopped"),
    WorkerState.SILENT: N_("silent"),
}


def worker_state_text(state: str) -> str:
    """A worker's state in the reader's language."""
    return _(WORKER_STATE_TEXTS[WorkerState(state)])


class WorkerNameTaken(RoboError):
    """A live worker of the fleet already has the name a worker asked for."""

    kind = "configuration"


@dataclass(frozen=True)
class WorkerRecord:
    """A registered worker as `FleetWorkers.list` reads it, its state derived at `now`."""

    name: str
    host: str
    pid: int
    queues: tuple[str, ...]  # empty: every queue
    concurrency: int
    heartbeat_seconds: float
    started_at: str
    heartbeat_at: str
    stopped_at: str | None
    state: WorkerState
    beat_age: float  # seconds since its last beat, by the database's clock

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "host": self.host,
            "pid": self.pid,
            "queues": list(self.queues),
            "concurrency": self.concurrency,
            "heartbeat_seconds": self.heartbeat_seconds,
            "started_at": self.started_at,
            "heartbeat_at": self.heartbeat_at,
            "stopped_at": self.stopped_at,
            "state": str(self.state),
            "beat_age": round(self.beat_age, 1),
        }


@dataclass(frozen=True)
class Registration:
    """A worker's registration: its name and the token its beats carry."""

    name: str
    token: int


class FleetWorkers:
    """Registers the fleet's workers in a run store, records their beats and lists them with their state."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._postgres = store.engine.dialect.name == "postgresql"

    def register(
        self,
        name: str,
        *,
        queues: Sequence[str] = (),
        concurrency: int = 1,
        heartbeat_seconds: float = 10.0,
        host: str | None = None,
        pid: int | None = None,
    ) -> Registration:
        """Record the worker `name` as started now; refused (`WorkerNameTaken`) while a live worker has it."""
        host = host or socket.gethostname()
        pid = os.getpid() if pid is None else pid
        values = {
            "host": host,
            "pid": pid,
            "queues": list(queues),
            "concurrency": concurrency,
            "heartbeat_seconds": heartbeat_seconds,
            "started_at": self._now(),
            "heartbeat_at": self._now(),
            "stopped_at": None,
        }
        insert = postgres_insert if self._postgres else sqlite_insert
        with self._writing() as connection:
            now = self._read_now(connection)
            row = self._locked(connection, name)
            if row is None:
                added = connection.execute(
                    insert(fleet_workers)
                    .values(name=name, token=1, **values)
                    .on_conflict_do_nothing(index_elements=["name"])
                    .returning(fleet_workers.c.name)
                ).first()
                if added is not None:
                    return Registration(name, 1)
                # Another worker registered that name at the same moment and committed first: it is alive.
                row = self._locked(connection, name)
                if row is None:  # pragma: no cover - the row cannot vanish under our lock
                    raise RuntimeError(f"worker {name!r} vanished while registering")
            if _state(row, now) == WorkerState.ALIVE and not _gone_from(row, host):
                raise _taken(row, now)
            token = int(row.token) + 1
            connection.execute(
                update(fleet_workers).where(fleet_workers.c.name == name).values(token=token, **values)
            )
        return Registration(name, token)

    def register_default(
        self, *, queues: Sequence[str] = (), concurrency: int = 1, heartbeat_seconds: float = 10.0
    ) -> Registration:
        """Register under the host's short name, or the first free of `host-2`, `host-3`, … (see the module)."""
        base = default_worker_name()
        taken: WorkerNameTaken | None = None
        for number in range(1, MAX_DEFAULT_NAMES + 1):
            name = base if number == 1 else f"{base}-{number}"
            try:
                return self.register(
                    name, queues=queues, concurrency=concurrency, heartbeat_seconds=heartbeat_seconds
                )
            except WorkerNameTaken as exc:
                taken = exc
        assert taken is not None
        raise taken

    def beat(self, registration: Registration) -> bool:
        """The worker is alive now; False when its name was taken over (its beats are no longer recorded)."""
        with self._writing() as connection:
            beaten = connection.execute(
                update(fleet_workers)
                .where(fleet_workers.c.name == registration.name, fleet_workers.c.token == registration.token)
                .values(heartbeat_at=self._now())
            )
        return beaten.rowcount == 1

    def stopped(self, registration: Registration) -> None:
        """The worker stops (a clean exit); nothing when its name was taken over meanwhile."""
        with self._writing() as connection:
            connection.execute(
                update(fleet_workers)
                .where(fleet_workers.c.name == registration.name, fleet_workers.c.token == registration.token)
                .values(stopped_at=self._now(), heartbeat_at=self._now())
            )

    def forget(self, name: str) -> bool:
        """Remove a stopped or silent worker from the registry (a machine taken out of the fleet); refused
        (`WorkerNameTaken`) for a live one. False when no worker has that name."""
        with self._writing() as connection:
            now = self._read_now(connection)
            row = self._locked(connection, name)
            if row is None:
                return False
            if _state(row, now) == WorkerState.ALIVE:
                raise _taken(row, now)
            connection.execute(fleet_workers.delete().where(fleet_workers.c.name == name))
        return True

    def list(self) -> list[WorkerRecord]:
        """Every registered worker, by name, its state derived from the database's clock now."""
        with self.store.engine.connect() as connection:
            now = self._read_now(connection)
            rows = list(connection.execute(select(fleet_workers).order_by(fleet_workers.c.name)))
        return [_record(row, now) for row in rows]

    @contextmanager
    def present(
        self,
        name: str | None,
        *,
        queues: Sequence[str] = (),
        concurrency: int = 1,
        heartbeat_seconds: float = 10.0,
    ) -> Iterator[Registration]:
        """Registered (under `name`, else the default name) while the block runs: beating every
        `heartbeat_seconds` from a thread, marked stopped when the block ends, however it ends."""
        if name:
            registration = self.register(
                name, queues=queues, concurrency=concurrency, heartbeat_seconds=heartbeat_seconds
            )
        else:
            registration = self.register_default(
                queues=queues, concurrency=concurrency, heartbeat_seconds=heartbeat_seconds
            )
        stop = threading.Event()

        def beating() -> None:
            while not stop.wait(heartbeat_seconds):
                try:
                    if not self.beat(registration):
                        LOG.warning(
                            "%s",
                            _("worker {name}: another worker took this name over; its beats stop").format(
                                name=registration.name
                            ),
                        )
                        return
                except Exception as exc:  # the database away for a moment: beat again next time
                    LOG.warning(
                        "%s",
                        _("worker {name}: its heartbeat could not be recorded: {error}").format(
                            name=registration.name, error=(str(exc).splitlines() or [type(exc).__name__])[0]
                        ),
                    )

        thread = threading.Thread(target=beating, name="robo-worker-heartbeat", daemon=True)
        thread.start()
        try:
            yield registration
        finally:
            stop.set()
            thread.join()
            try:
                self.stopped(registration)
            except Exception as exc:  # the database gone at exit: the worker turns silent instead of stopped
                LOG.warning(
                    "%s",
                    _("worker {name}: its stop could not be recorded: {error}").format(
                        name=registration.name, error=(str(exc).splitlines() or [type(exc).__name__])[0]
                    ),
                )

    def _locked(self, connection: Connection, name: str) -> Any:
        query = select(fleet_workers).where(fleet_workers.c.name == name)
        return connection.execute(query.with_for_update() if self._postgres else query).first()

    def _now(self) -> ColumnElement[Any]:
        if self._postgres:
            return func.now()
        return literal(dt.datetime.now(dt.UTC), UtcTimestamp())

    def _read_now(self, connection: Connection) -> dt.datetime:
        """Now by the clock the moments are written with: the server's on PostgreSQL."""
        if self._postgres:
            return as_utc(connection.execute(select(func.now())).scalar_one())
        return dt.datetime.now(dt.UTC)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A transaction; on SQLite one that holds the write lock from its start (no row locks there)."""
        with self.store.engine.begin() as connection:
            if not self._postgres:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield connection


def default_worker_name() -> str:
    """The host's short name (before its first dot), the name of a worker given none."""
    return socket.gethostname().split(".")[0] or "worker"


def _moment(value: str) -> dt.datetime:
    return as_utc(dt.datetime.fromisoformat(value))


def _state(row: Any, now: dt.datetime) -> WorkerState:
    if row.stopped_at is not None:
        return WorkerState.STOPPED
    age = (now - _moment(row.heartbeat_at)).total_seconds()
    if age <= row.heartbeat_seconds * SILENT_AFTER_HEARTBEATS:
        return WorkerState.ALIVE
    return WorkerState.SILENT


def _gone_from(row: Any, host: str) -> bool:
    """The row's worker ran on this host and its process is gone (a worker restarted after a crash)."""
    if row.host != host or row.pid == os.getpid():
        return False
    import psutil

    return not psutil.pid_exists(row.pid)


def _record(row: Any, now: dt.datetime) -> WorkerRecord:
    return WorkerRecord(
        name=row.name,
        host=row.host,
        pid=row.pid,
        queues=tuple(row.queues or ()),
        concurrency=row.concurrency,
        heartbeat_seconds=row.heartbeat_seconds,
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        stopped_at=row.stopped_at,
        state=_state(row, now),
        beat_age=max(0.0, (now - _moment(row.heartbeat_at)).total_seconds()),
    )


def _taken(row: Any, now: dt.datetime) -> WorkerNameTaken:
    return WorkerNameTaken(
        _(
            "the worker name {name} is taken by a live worker (host {host}, pid {pid}, last beat {age} ago)"
        ).format(
            name=row.name,
            host=row.host,
            pid=row.pid,
            age=_age_text(now, row.heartbeat_at),
        ),
        hint=_(
            "give this worker another name (--name), or stop the other one first; a worker's name is free again"
            " once it stopped or missed {beats} heartbeats"
        ).format(beats=SILENT_AFTER_HEARTBEATS),
    )


def _age_text(now: dt.datetime, moment: str) -> str:
    from robots.kit import format_duration

    return format_duration(max(0.0, (now - _moment(moment)).total_seconds()))
