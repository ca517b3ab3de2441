"""Brings a database's tables to the newest version with Alembic, from code: no alembic.ini.

Each database owner keeps its migrations as package data (`runner.record.migrations` for the run store,
`runner.schedule.migrations` for the schedule service, both in the same database) and its own version table, so
the two histories never mix. A database made before Alembic (tables, no version table) is taken over by the
baseline migration, which completes its tables rather than creating them.

Processes opening a new database together take turns: on PostgreSQL under an advisory lock held until the
upgrade's transaction ends (DDL is transactional there), on SQLite in a `BEGIN IMMEDIATE` transaction, which
holds the database's write lock from its start. A process that finds the database at the newest version already
takes no lock and does not even load Alembic (its import takes most of a second, paid by every `robo` command):
migrations are numbered, `versions/NNNN_what.py` holding revision "NNNN" after "NNNN - 1" (a test checks it), so
the newest revision is the highest number in the folder. Nor does a new database: its tables are made from the
code's at once and stamped with the newest revision (`create_at_head`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Engine, MetaData, PrimaryKeyConstraint, String, Table, inspect, text
from sqlalchemy.engine import Connection

from runner.record.races import retry_on_race

if TYPE_CHECKING:
    from alembic.config import Config

UPGRADE_LOCK_KEY = (
    0x526F624F  # "RobO": the PostgreSQL advisory lock the upgraders of a database take turns on
)


@dataclass(frozen=True)
class Migrations:
    """The migrations of the tables one owner keeps in a database."""

    package: str  # the package holding env.py and versions/
    version_table: str
    metadata: MetaData  # the tables as the code uses them: what the newest version must equal

    def owns(self, name: str | None, kind: str, _parents: Any = None) -> bool:
        """Alembic's `include_name`: only this owner's tables (the database holds others' too)."""
        return kind != "table" or name in self.metadata.tables

    def config(self, connection: Connection | None = None) -> Config:
        """Alembic's configuration, built in code; env.py reads the connection and these migrations from it."""
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(resources.files(self.package)))
        config.attributes["connection"] = connection
        config.attributes["migrations"] = self
        return config

    def newest(self) -> str:
        """The newest revision: the highest number of the files in versions/."""
        folder = resources.files(self.package) / "versions"
        return max(entry.name[:4] for entry in folder.iterdir() if _NUMBERED.fullmatch(entry.name))

    def current(self, connection: Connection) -> str | None:
        """The database's revision (None before the first migration)."""
        if not inspect(connection).has_table(self.version_table):
            return None
        version: str | None = connection.execute(
            text(f"SELECT version_num FROM {self.version_table}")
        ).scalar()
        return version


_NUMBERED = re.compile(r"\d{4}_\w+\.py")


def create_or_complete(connection: Connection, tables: MetaData) -> None:
    """The baseline migration's work: create the tables, or complete those a database made before Alembic has.

    Such a database may come from a version older than the baseline: its tables lack the columns and indexes
    added since, which are added here (as the code before Alembic did at each opening).
    """
    inspector = inspect(connection)
    for table in tables.sorted_tables:
        if not inspector.has_table(table.name):
            table.create(connection)
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=connection.dialect)
                connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))
        for index in table.indexes:
            index.create(connection, checkfirst=True)


def run_migrations() -> None:
    """The body of each migrations package's env.py: the upgrade on the connection `upgrade_to_head` gave."""
    from alembic import context

    migrations: Migrations = context.config.attributes["migrations"]
    context.configure(
        connection=context.config.attributes["connection"],
        target_metadata=migrations.metadata,
        version_table=migrations.version_table,
        include_name=migrations.owns,
    )
    with context.begin_transaction():
        context.run_migrations()


def upgrade_to_head(engine: Engine, migrations: Migrations) -> None:
    """Runs the migrations the database lacks, whoever else opens it at the same moment."""
    with engine.connect() as connection:
        if migrations.current(connection) == migrations.newest():
            return
    retry_on_race(lambda: _upgrade(engine, migrations))


def _upgrade(engine: Engine, migrations: Migrations) -> None:
    with taking_turns(engine) as connection:
        if is_new(connection, migrations):
            create_at_head(connection, migrations)
            return
        from alembic import command

        command.upgrade(migrations.config(connection), "head")


def is_new(connection: Connection, migrations: Migrations) -> bool:
    """Whether the database holds nothing of these migrations: neither their version table nor any of their tables
    (a database made before Alembic has tables and no version table: the baseline migration takes it over)."""
    present = set(inspect(connection).get_table_names())
    return migrations.version_table not in present and present.isdisjoint(migrations.metadata.tables)


def create_at_head(connection: Connection, migrations: Migrations) -> None:
    """A new database's tables made at once from the code's, stamped with the newest revision: what running every
    migration gives (tests/record/test_store_migrations.py compares the two), without loading Alembic. Most
    databases are new ones (a first run, each test), and Alembic's import and migrations cost ~0.3 s there. Only
    tables are made here: a migration that adds rows, views or triggers must have them made here too."""
    migrations.metadata.create_all(connection)
    version = Table(
        migrations.version_table,
        MetaData(),
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name=f"{migrations.version_table}_pkc"),  # as Alembic names it
    )
    version.create(connection)
    connection.execute(version.insert().values(version_num=migrations.newest()))


@contextmanager
def taking_turns(engine: Engine) -> Iterator[Connection]:
    """A transaction that the processes changing the database's tables take one at a time (see the module)."""
    with engine.begin() as connection:
        _take_turn.get(engine.dialect.name, _no_turn)(connection)
        yield connection


@contextmanager
def holding_upgrade_lock(engine: Engine) -> Iterator[Connection]:
    """A PostgreSQL connection holding the upgraders' lock (the one `taking_turns` takes) until it is left, for
    an upgrade that must commit several times (a new enum value is usable only once committed)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": UPGRADE_LOCK_KEY})
        connection.commit()
        try:
            yield connection
        finally:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": UPGRADE_LOCK_KEY})
            connection.commit()


def _postgres_turn(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK_KEY})


def _sqlite_turn(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _no_turn(_connection: Connection) -> None:
    """Another database: its upgraders rely on its own locking."""


_take_turn: dict[str, Callable[[Connection], None]] = {"postgresql": _postgres_turn, "sqlite": _sqlite_turn}
