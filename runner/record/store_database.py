"""The run store's database: its tables, and opening it (SQLite tuned for crash safety, PostgreSQL without NUL)."""

from __future__ import annotations

import json
import os
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
)
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from robots.kit import ConfigurationError, _
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
    # A fleet's lease on the item (runner.record.leases); a single-machine run leaves them empty.
    Column("worker", String(200)),  # who holds the lease, or held it last
    Column("token", Integer),  # the fencing token: bumped at each claim and release
    Column("lease_until", UtcTimestamp),
    Column("heartbeat_at", UtcTimestamp),
    Column("payload", JSON),  # the item as the loop read it, for the worker that claims it
    UniqueConstraint("run_id", "loop", "key", name="uq_items_run_loop_key"),
    Index("ix_items_run_status", "run_id", "status"),
    Index("ix_items_key", "key"),  # the console's search by item key across runs
    Index("ix_items_status", "status"),  # the console's failed and to_check items of every run
    Index("ix_items_claim", "run_id", "loop", "status", "position"),  # a worker's claim, in the loop's order
)

# Loops a run shares out to a fleet's workers (`distribute:`): the workflow's text as the run started, the loop's
# place and item count, the workers' queue, and what its items see besides themselves (never a secret).
fleet_loops = Table(
    "fleet_loops",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("loop", String(200), nullable=False),
    Column("workflow_file", Text, nullable=False),
    Column("workflow_dir", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("total", Integer, nullable=False),
    Column("queue", String(64), nullable=False),
    Column("context", JSON, nullable=False),
    Column("created_at", UtcTimestamp, nullable=False),
    Column(
        "stopped", JSON
    ),  # the failure that stops the loop (kind, message, hint), from the worker that met it
    UniqueConstraint("run_id", "loop", name="uq_fleet_loops_run_loop"),
)

# The console's people (`robo users`): a name, a role (runner.console.access.Role) and an argon2 hash, never the
# password itself.
users = Table(
    "users",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("role", String(32), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("changed_at", UtcTimestamp, nullable=False),
)

# A fleet's workers (`runner.fleet.FleetWorkers`): who registered, where, for which queues, and when each last beat.
# A worker's state (alive, stopped, silent) is derived from its beat and its own heartbeat length when read.
fleet_workers = Table(
    "fleet_workers",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("queues", JSON, nullable=False),  # the queues it takes jobs from; empty: all
    Column("concurrency", Integer, nullable=False),
    Column("heartbeat_seconds", Float, nullable=False),  # how often it beats: silent after three missed beats
    Column(
        "token", Integer, nullable=False
    ),  # bumped at each registration: a worker taken over beats no more
    Column("started_at", UtcTimestamp, nullable=False),
    Column("heartbeat_at", UtcTimestamp, nullable=False),
    Column("stopped_at", UtcTimestamp),
)

STORE_MIGRATIONS = Migrations("runner.record.migrations", "alembic_version_store", metadata)
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
    are created or upgraded (`STORE_MIGRATIONS`). A store that cannot be opened raises `ConfigurationError`."""
    try:
        return _open_engine(url)
    except (ImportError, ArgumentError, DBAPIError) as exc:
        raise store_unreachable(url, exc) from None


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
            return statement, postgres_text(parameters)

    upgrade_to_head(engine, STORE_MIGRATIONS)
    return engine


NUL_STAND_IN = "\ufffd"  # PostgreSQL's text cannot hold NUL characters: they are stored as U+FFFD there


def postgres_text(value: Any) -> Any:
    """Statement parameters with every NUL of their texts replaced (JSON values are already escaped)."""
    if isinstance(value, str):
        return value.replace("\x00", NUL_STAND_IN) if "\x00" in value else value
    if isinstance(value, dict):
        return {key: postgres_text(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(postgres_text(item) for item in value)
    return value


def _switch_to_wal(cursor: Any) -> None:
    """`journal_mode=WAL`, waiting for a moment when no other process is switching a new store at once.

    SQLite answers "database is locked" at once, without its busy timeout, to a journal mode change that meets
    another connection doing the same; the switch is made once per database file, so a short wait is enough.
    """
    retry_on_race(lambda: cursor.execute("PRAGMA journal_mode=WAL"))


def store_unreachable(url: str, exc: Exception) -> ConfigurationError:
    """Why the store at `url` cannot be opened, its password masked, with what to check."""
    from sqlalchemy.engine import make_url

    example = "sqlite:///logs/robo.db or postgresql+psycopg://user:password@host/database"
    if isinstance(exc, ArgumentError):
        return ConfigurationError(
            _("cannot open the run store {url}: it is not a SQLAlchemy URL").format(url=url),
            hint=_("give --store or ROBO_STORE_URL a URL such as {example}").format(example=example),
        )
    shown = make_url(url).render_as_string(hide_password=True)
    if isinstance(exc, ImportError | NoSuchModuleError):
        return ConfigurationError(
            _("cannot open the run store {url}: its database driver is not installed ({error})").format(
                url=shown, error=exc
            ),
            hint=_("for PostgreSQL: pip install 'robo-rpa[postgres]' and a postgresql+psycopg:// URL"),
        )
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return ConfigurationError(
        _("cannot open the run store {url}: {reason}").format(url=shown, reason=reason),
        hint=_("check that the database server is running and that --store or ROBO_STORE_URL names it"),
    )
