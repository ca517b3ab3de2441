"""The run store: every run, its steps and its work items, in a database reached through a SQLAlchemy URL.

SQLite (`logs/robo.db`, WAL mode) by default; a PostgreSQL URL works the same for a fleet of bot machines.
The store gives back what it stores: a run recorded `running` whose process died is still `running` here (the
layers that report a status ask `runner.review.liveness`). Who runs a run is claimed in `claims.py`; the sink
that writes a run's events here is `store_sink.py`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Collection, Iterator, Sequence
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
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from robots.kit import ConfigurationError
from runner.events import (
    Effect,
    ItemMark,
    ItemMarked,
    ItemStatus,
    RunFinished,
    RunStarted,
    RunStatus,
    is_failed,
)
from runner.record.audit import json_default
from runner.record.races import retry_on_race
from runner.record.timestamps import UtcTimestamp
from runner.record.upgrade import Migrations, upgrade_to_head

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workflow", Text, nullable=False, index=True),  # a name as long as its author wrote it
    Column("workflow_file", Text, nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("started_at", UtcTimestamp, nullable=False, index=True),
    Column("finished_at", UtcTimestamp),
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
    # Who runs the run now: `pid`, `host` and the process's create time (a pid reused by another process is not
    # the run's). A resume claims the run by bumping `sessions` where it still has the value it read.
    Column("proc_started", Float),
    Column("sessions", Integer, default=1),
    Column("session_started_at", UtcTimestamp),
    Column("prior_duration", Float),  # the seconds of the sessions before this one
    # The workflow's concurrency slot this run holds while it runs (unique: one run per slot).
    Column("workflow_lock", Text),
    Index("uq_runs_workflow_lock", "workflow_lock", unique=True),
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
    Column("finished_at", UtcTimestamp),
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
    Column("started_at", UtcTimestamp),
    Column("finished_at", UtcTimestamp),
    Column("duration", Float),
    Column("error", Text),
    Column("outcome", JSON),
    Column("effects", JSON),  # the item's changing steps, in order: see runner.events.Effect
    UniqueConstraint("run_id", "loop", "key", name="uq_items_run_loop_key"),
    Index("ix_items_run_status", "run_id", "status"),
)

MIGRATIONS = Migrations("runner.record.migrations", "alembic_version_store", metadata)
DEFAULT_STORE_NAME = "robo.db"


def default_store_url(logs_dir: Path) -> str:
    """`ROBO_STORE_URL` when set, else a SQLite file in the logs folder."""
    return os.environ.get("ROBO_STORE_URL") or f"sqlite:///{(logs_dir / DEFAULT_STORE_NAME).resolve()}"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=json_default)


def comparable(value: Any) -> Any:
    """A value as the store keeps it in a JSON column (dates and paths as text), to compare with a stored one."""
    return json.loads(_dumps(value))


def open_engine(url: str) -> Engine:
    """A SQLAlchemy engine for the store, with SQLite tuned for crash safety and concurrent readers; its tables
    are created or upgraded (`MIGRATIONS`). A store that cannot be opened raises `ConfigurationError`."""
    try:
        return _open_engine(url)
    except (ImportError, ArgumentError, DBAPIError) as exc:
        raise _unreachable(url, exc) from None


def _open_engine(url: str) -> Engine:
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

    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "before_cursor_execute", retval=True)
        def _without_nul(
            _connection: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
        ) -> tuple[str, Any]:
            return statement, _postgres_text(parameters)

    upgrade_to_head(engine, MIGRATIONS)
    return engine


NUL_STAND_IN = "\ufffd"  # PostgreSQL's text cannot hold NUL characters: they are stored as U+FFFD there


def _postgres_text(value: Any) -> Any:
    """Statement parameters with every NUL of their texts replaced (JSON values are already escaped)."""
    if isinstance(value, str):
        return value.replace("\x00", NUL_STAND_IN) if "\x00" in value else value
    if isinstance(value, dict):
        return {key: _postgres_text(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_postgres_text(item) for item in value)
    return value


def _switch_to_wal(cursor: Any) -> None:
    """`journal_mode=WAL`, waiting for a moment when no other process is switching a new store at once.

    SQLite answers "database is locked" at once, without its busy timeout, to a journal mode change that meets
    another connection doing the same; the switch is made once per database file, so a short wait is enough.
    """
    retry_on_race(lambda: cursor.execute("PRAGMA journal_mode=WAL"))


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
    proc_started: float | None = None
    sessions: int = 1
    session_started_at: str | None = None
    prior_duration: float | None = None
    workflow_lock: str | None = None
    items: dict[str, int] = dataclasses.field(default_factory=dict)  # the run's work items by status
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

    @property
    def shown_url(self) -> str:
        """The store's URL as messages show it: its password masked."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def as_stored(self, text: str) -> str:
        """A text as this store gives it back (the key of an item read again, on PostgreSQL)."""
        return _postgres_text(text) if self.engine.dialect.name == "postgresql" else text

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def last_activity(self, run_id: str) -> str | None:
        """When the run last recorded something (an item or a step): where a crashed run stopped."""
        with self.engine.connect() as connection:
            return _last_activity(connection, run_id)

    def record_run_started(self, event: RunStarted, run_dir: Path) -> None:
        values = {
            "workflow": event.workflow,
            "workflow_file": event.workflow_file,
            "status": str(RunStatus.RUNNING),
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
            if exists:  # claimed, or resumed: the run started when its first session did
                connection.execute(update(runs).where(runs.c.id == event.run_id).values(**values))
            else:
                connection.execute(
                    insert(runs).values(
                        id=event.run_id, started_at=event.at, session_started_at=event.at, **values
                    )
                )

    def record_run_finished(self, event: RunFinished, last_hash: str | None) -> None:
        with self.begin() as connection:
            connection.execute(
                update(runs)
                .where(runs.c.id == event.run_id)
                .values(
                    status=event.status,
                    finished_at=event.at,
                    duration=func.coalesce(runs.c.prior_duration, 0.0) + event.duration,
                    error=event.error,
                    counts=event.counts,
                    last_hash=last_hash,
                    workflow_lock=None,
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
            return _run_record(row, _item_counts(connection, [row["id"]])) if row else None

    def list_runs(
        self,
        *,
        workflow: str | None = None,
        statuses: Collection[str] = (),
        since: str | None = None,
        limit: int = 50,
        workflow_file: str | None = None,
        dry_run: bool | None = None,
    ) -> list[RunRecord]:
        query = select(runs).order_by(runs.c.started_at.desc()).limit(limit)
        if workflow:
            query = query.where(runs.c.workflow == workflow)
        if workflow_file:
            query = query.where(runs.c.workflow_file == workflow_file)
        if dry_run is not None:
            query = query.where(func.coalesce(runs.c.dry_run, 0) == int(dry_run))
        if statuses:
            query = query.where(runs.c.status.in_([str(status) for status in statuses]))
        if since:
            query = query.where(runs.c.started_at >= since)
        with self.engine.connect() as connection:
            rows = list(connection.execute(query).mappings())
            counts = _item_counts(connection, [row["id"] for row in rows])
        return [_run_record(row, counts) for row in rows]

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
                select(items.c.id).where(items.c.run_id == run_id, items.c.loop == loop, items.c.key == key)
            ).first()
            if found is None:
                connection.execute(insert(items).values(run_id=run_id, loop=loop, key=key, **values))
            else:
                connection.execute(update(items).where(items.c.id == found.id).values(**values))

    def record_effect(self, run_id: str, loop: str, key: str, effect: Effect) -> None:
        """Add a changing step's state to the item's effects, committed at once (not with the step batch)."""
        where = (items.c.run_id == run_id, items.c.loop == loop, items.c.key == key)
        with self.begin() as connection:
            found = connection.execute(select(items.c.id, items.c.effects).where(*where)).first()
            effects = [*(found.effects or []), effect.to_dict()] if found is not None else [effect.to_dict()]
            if found is None:  # the item's start is always recorded first; kept for a store written by hand
                connection.execute(
                    insert(items).values(
                        run_id=run_id,
                        loop=loop,
                        key=key,
                        position=0,
                        status=ItemStatus.IN_PROGRESS,
                        effects=effects,
                    )
                )
            else:
                connection.execute(update(items).where(items.c.id == found.id).values(effects=effects))

    def mark_item(self, event: ItemMarked) -> None:
        """A person's verdict on an item to check: `done` (it is entered) or `redo` (do it again, effects cleared)."""
        where = (items.c.run_id == event.run_id, items.c.loop == event.loop, items.c.key == event.key)
        with self.begin() as connection:
            row = connection.execute(select(items.c.id, items.c.outcome).where(*where)).first()
            if row is None:
                raise LookupError(f"run {event.run_id} has no item {event.key} in {event.loop}")
            note = f"marked {event.mark} by {event.by} on {event.at[:19].replace('T', ' ')}"
            if event.mark == ItemMark.DONE:
                outcome = {**(row.outcome or {}), "status": str(ItemStatus.DONE), "error": None}
                values: dict[str, Any] = {"status": ItemStatus.DONE, "error": note, "outcome": outcome}
            else:
                values = {"status": ItemStatus.PENDING, "error": note, "effects": []}
            connection.execute(update(items).where(items.c.id == row.id).values(**values))


def _unreachable(url: str, exc: Exception) -> ConfigurationError:
    """Why the store at `url` cannot be opened, its password masked, with what to check."""
    from sqlalchemy.engine import make_url

    example = "sqlite:///logs/robo.db or postgresql+psycopg://user:password@host/database"
    if isinstance(exc, ArgumentError):
        return ConfigurationError(
            f"cannot open the run store {url}: it is not a SQLAlchemy URL",
            hint=f"give --store or ROBO_STORE_URL a URL such as {example}",
        )
    shown = make_url(url).render_as_string(hide_password=True)
    if isinstance(exc, ImportError | NoSuchModuleError):
        return ConfigurationError(
            f"cannot open the run store {shown}: its database driver is not installed ({exc})",
            hint="for PostgreSQL: pip install 'robo-rpa[postgres]' and a postgresql+psycopg:// URL",
        )
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return ConfigurationError(
        f"cannot open the run store {shown}: {reason}",
        hint="check that the database server is running and that --store or ROBO_STORE_URL names it",
    )


def _last_activity(connection: Connection, run_id: str) -> str | None:
    moments = [
        *connection.execute(
            select(func.max(items.c.finished_at), func.max(items.c.started_at)).where(
                items.c.run_id == run_id
            )
        ).one(),
        connection.execute(select(func.max(steps.c.finished_at)).where(steps.c.run_id == run_id)).scalar(),
    ]
    return max((moment for moment in moments if moment), default=None)


def _item_counts(connection: Connection, run_ids: list[str]) -> dict[str, dict[str, int]]:
    """Each run's work items by status: what the run did over all its sessions."""
    counts: dict[str, dict[str, int]] = {}
    for start in range(0, len(run_ids), 500):
        rows = connection.execute(
            select(items.c.run_id, items.c.status, func.count())
            .where(items.c.run_id.in_(run_ids[start : start + 500]))
            .group_by(items.c.run_id, items.c.status)
        )
        for run_id, status, number in rows:
            counts.setdefault(run_id, {})[status] = number
    return counts


def _whole_run_counts(counts: dict[str, int], by_status: dict[str, int]) -> dict[str, int]:
    """The last session's counters, with its item counts replaced by the run's own (all sessions together)."""
    if not by_status:
        return counts
    whole = {name: value for name, value in counts.items() if not name.startswith("items_")}
    whole["items_done"] = by_status.get(ItemStatus.DONE, 0)
    whole["items_failed"] = sum(number for status, number in by_status.items() if is_failed(status))
    whole["items_to_check"] = by_status.get(ItemStatus.TO_CHECK, 0)
    return whole


def _run_record(row: Any, item_counts: dict[str, dict[str, int]] | None = None) -> RunRecord:
    by_status = (item_counts or {}).get(row["id"], {})
    return RunRecord(
        id=row["id"],
        workflow=row["workflow"],
        workflow_file=row["workflow_file"],
        status=row["status"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        duration=row["duration"],
        error=row["error"],
        inputs=row["inputs"] or {},
        counts=_whole_run_counts(row["counts"] or {}, by_status),
        run_dir=row["run_dir"],
        pid=row["pid"],
        host=row["host"],
        resumed_from=row["resumed_from"],
        last_hash=row["last_hash"],
        proc_started=row["proc_started"],
        sessions=row["sessions"] or 1,
        session_started_at=row["session_started_at"],
        prior_duration=row["prior_duration"],
        workflow_lock=row["workflow_lock"],
        items=by_status,
        dry_run=bool(row["dry_run"]),
    )


def utc_iso(moment: dt.datetime | None = None) -> str:
    return (moment or dt.datetime.now(dt.UTC)).isoformat(timespec="milliseconds")
