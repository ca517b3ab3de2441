"""The run store: every run, its steps and its work items, in a database reached through a SQLAlchemy URL.

SQLite (`logs/robo.db`, WAL mode) by default; a PostgreSQL URL works the same for a fleet of bot machines.
`RunStoreSink` is an event sink that keeps the store up to date during a run: step rows are written in batches
at item boundaries, so the store costs little per step, while item statuses are committed before the next item
starts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
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
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from runner.audit import json_default
from runner.events import (
    ArtifactSaved,
    Event,
    ItemFinished,
    ItemStarted,
    RunFinished,
    RunStarted,
    StepFinished,
)

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workflow", String(200), nullable=False, index=True),
    Column("workflow_file", Text, nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("started_at", String(40), nullable=False, index=True),
    Column("finished_at", String(40)),
    Column("duration", Float),
    Column("error", Text),
    Column("inputs", JSON),
    Column("counts", JSON),
    Column("run_dir", Text),
    Column("pid", Integer),
    Column("host", String(200)),
    Column("resumed_from", String(64)),
    Column("dry_run", Integer, default=0),
    Column("last_hash", String(64)),
)

steps = Table(
    "steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("step", String(200), nullable=False),
    Column("name", Text, nullable=False),
    Column("item", Text),
    Column("lane", Integer, default=0),
    Column("status", String(32), nullable=False),
    Column("finished_at", String(40)),
    Column("duration", Float),
    Column("error", Text),
    Index("ix_steps_run", "run_id"),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("loop", String(200), nullable=False),
    Column("key", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("started_at", String(40)),
    Column("finished_at", String(40)),
    Column("duration", Float),
    Column("attempts", Integer, default=0),
    Column("error", Text),
    Column("outcome", JSON),
    UniqueConstraint("run_id", "loop", "key", name="uq_items_run_loop_key"),
    Index("ix_items_run_status", "run_id", "status"),
)

DEFAULT_STORE_NAME = "robo.db"


def default_store_url(logs_dir: Path) -> str:
    """`ROBO_STORE_URL` when set, else a SQLite file in the logs folder."""
    return os.environ.get("ROBO_STORE_URL") or f"sqlite:///{(logs_dir / DEFAULT_STORE_NAME).resolve()}"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=json_default)


def open_engine(url: str) -> Engine:
    """A SQLAlchemy engine for the store, with SQLite tuned for crash safety and concurrent readers."""
    is_sqlite = url.startswith("sqlite")
    if is_sqlite and url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        json_serializer=_dumps,
        connect_args={"timeout": 30, "check_same_thread": False} if is_sqlite else {},
    )
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            _switch_to_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    _create_schema(engine)
    return engine


def _switch_to_wal(cursor: Any) -> None:
    """`journal_mode=WAL`, waiting for a moment when no other process is switching a new store at once.

    SQLite answers "database is locked" at once, without its busy timeout, to a journal mode change that meets
    another connection doing the same; the switch is made once per database file, so a short wait is enough.
    """
    import sqlite3
    import time

    deadline = time.monotonic() + 30
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _create_schema(engine: Engine) -> None:
    """Creates or completes the tables, even when another process (a run, `robo runs`) does it at the same moment.

    The check and the CREATE are separate statements, so two processes opening a new store together can both
    find a table missing; the loser sees "already exists" and checks again, which then finds everything there.
    """
    from sqlalchemy.exc import OperationalError, ProgrammingError

    attempts = 5
    for attempt in range(attempts):
        try:
            metadata.create_all(engine)
            _add_missing_columns(engine)
            return
        except (OperationalError, ProgrammingError) as error:
            message = str(error.orig).lower()
            if attempt == attempts - 1 or not ("already exists" in message or "duplicate column" in message):
                raise


def _add_missing_columns(engine: Engine) -> None:
    """Columns added since a store was created (a store outlives versions of Rob'O)."""
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=engine.dialect)
                with engine.begin() as connection:
                    connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))


DRY_RUN_MARK = "(dry run)"


@dataclass(frozen=True)
class RunRecord:
    id: str
    workflow: str
    workflow_file: str
    status: str
    started_at: str
    finished_at: str | None
    duration: float | None
    error: str | None
    inputs: dict[str, Any]
    counts: dict[str, int]
    run_dir: str | None
    pid: int | None
    host: str | None
    resumed_from: str | None
    last_hash: str | None
    dry_run: bool = False

    @property
    def status_label(self) -> str:
        """The status as lists show it: a dry run says so, since it changed nothing."""
        return f"{self.status} {DRY_RUN_MARK}" if self.dry_run else self.status


class RunStore:
    """Reads and writes runs, steps and items."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def record_run_started(self, event: RunStarted, run_dir: Path) -> None:
        values = {
            "workflow": event.workflow,
            "workflow_file": event.workflow_file,
            "status": "running",
            "started_at": event.at,
            "finished_at": None,
            "error": None,
            "inputs": event.inputs,
            "run_dir": str(run_dir),
            "pid": event.pid,
            "host": event.host,
            "resumed_from": event.resumed_from,
            "dry_run": int(event.dry_run),
        }
        with self.begin() as connection:
            exists = connection.execute(select(runs.c.id).where(runs.c.id == event.run_id)).first()
            if exists:
                connection.execute(update(runs).where(runs.c.id == event.run_id).values(**values))
            else:
                connection.execute(insert(runs).values(id=event.run_id, **values))

    def record_run_finished(self, event: RunFinished, last_hash: str | None) -> None:
        with self.begin() as connection:
            connection.execute(
                update(runs)
                .where(runs.c.id == event.run_id)
                .values(
                    status=event.status,
                    finished_at=event.at,
                    duration=event.duration,
                    error=event.error,
                    counts=event.counts,
                    last_hash=last_hash,
                )
            )

    def set_last_hash(self, run_id: str, last_hash: str) -> None:
        with self.begin() as connection:
            connection.execute(update(runs).where(runs.c.id == run_id).values(last_hash=last_hash))

    def get_run(self, run_id: str) -> RunRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
            if row is None:
                matches = (
                    connection.execute(select(runs).where(runs.c.id.like(f"{run_id}%")).limit(2))
                    .mappings()
                    .all()
                )
                row = matches[0] if len(matches) == 1 else None
        return _run_record(row) if row else None

    def list_runs(
        self,
        *,
        workflow: str | None = None,
        status: str | None = None,
        since: str | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        query = select(runs).order_by(runs.c.started_at.desc()).limit(limit)
        if workflow:
            query = query.where(runs.c.workflow == workflow)
        if status:
            query = query.where(runs.c.status == status)
        if since:
            query = query.where(runs.c.started_at >= since)
        with self.engine.connect() as connection:
            return [_run_record(row) for row in connection.execute(query).mappings()]

    def run_steps(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(steps).where(steps.c.run_id == run_id).order_by(steps.c.id))
            return [dict(row) for row in rows.mappings()]

    def run_items(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(items).where(items.c.run_id == run_id).order_by(items.c.loop, items.c.position)
            )
            return [dict(row) for row in rows.mappings()]

    def write_steps(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            with self.begin() as connection:
                connection.execute(insert(steps), list(rows))

    def upsert_item(self, run_id: str, loop: str, key: str, **values: Any) -> None:
        with self.begin() as connection:
            found = connection.execute(
                select(items.c.id, items.c.attempts).where(
                    items.c.run_id == run_id, items.c.loop == loop, items.c.key == key
                )
            ).first()
            if found is None:
                connection.execute(insert(items).values(run_id=run_id, loop=loop, key=key, **values))
            else:
                connection.execute(update(items).where(items.c.id == found.id).values(**values))


def _run_record(row: Any) -> RunRecord:
    from runner.ledger import effective_status

    record = RunRecord(
        id=row["id"],
        workflow=row["workflow"],
        workflow_file=row["workflow_file"],
        status=row["status"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        duration=row["duration"],
        error=row["error"],
        inputs=row["inputs"] or {},
        counts=row["counts"] or {},
        run_dir=row["run_dir"],
        pid=row["pid"],
        host=row["host"],
        resumed_from=row["resumed_from"],
        last_hash=row["last_hash"],
        dry_run=bool(row["dry_run"]),
    )
    status = effective_status(record)
    return record if status == record.status else dataclasses.replace(record, status=status)


class RunStoreSink:
    """Keeps the run store in step with a run's events; step rows are batched up to item boundaries."""

    def __init__(self, store: RunStore, run_dir: Path, last_hash: Any = None) -> None:
        self.store = store
        self.run_dir = run_dir
        self._pending_steps: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._last_hash = last_hash  # a callable giving the audit log's current last hash

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.store.record_run_started(event, self.run_dir)
        elif isinstance(event, StepFinished):
            with self._lock:
                self._pending_steps.append(
                    {
                        "run_id": event.run_id,
                        "step": event.step,
                        "name": event.name,
                        "item": event.item,
                        "lane": event.lane,
                        "status": event.status,
                        "finished_at": event.at,
                        "duration": event.duration,
                        "error": (event.error or {}).get("message"),
                    }
                )
        elif isinstance(event, ItemStarted):
            self.flush()
            self.store.upsert_item(
                event.run_id,
                event.loop,
                event.key,
                position=event.index,
                status="in_progress",
                started_at=event.at,
            )
        elif isinstance(event, ItemFinished):
            self.flush()
            if event.status == "skipped":
                return  # done by an earlier attempt of the run: its record stays as it was
            self.store.upsert_item(
                event.run_id,
                event.loop,
                event.key,
                position=event.index,
                status=event.status,
                finished_at=event.at,
                duration=event.duration,
                error=event.error,
                outcome=event.outcome,
            )
        elif isinstance(event, RunFinished):
            self.flush()
            last = self._last_hash() if callable(self._last_hash) else None
            self.store.record_run_finished(event, last)
        elif isinstance(event, ArtifactSaved):
            pass

    def flush(self) -> None:
        with self._lock:
            pending, self._pending_steps = self._pending_steps, []
        self.store.write_steps(pending)

    def close(self) -> None:
        self.flush()


def utc_iso(moment: dt.datetime | None = None) -> str:
    return (moment or dt.datetime.now(dt.UTC)).isoformat(timespec="milliseconds")
