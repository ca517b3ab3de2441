"""`robo db upgrade`: the tables of everything that shares the run store's database, made or brought up to date.

Three owners keep tables there, each with its own record of its version: the run store (`runner.record`, Alembic),
the schedule service (`runner.schedule`, Alembic) and, on PostgreSQL, the fleet's jobs (Procrastinate's schema,
`job_schema.py`). A store on SQLite is one machine's: it gets no job tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import ArgumentError, DBAPIError

from robots.kit import _
from runner.fleet.job_schema import upgrade_job_schema
from runner.record import STORE_MIGRATIONS, Migrations, RunStore, store_unreachable
from runner.schedule import SCHEDULE_MIGRATIONS, ScheduleDatabase


@dataclass(frozen=True)
class UpgradedPart:
    """One owner's tables: its version before the upgrade (None: none yet) and after."""

    name: str  # what a person calls them, in their language
    before: str | None
    after: str


def upgrade_databases(url: str) -> list[UpgradedPart]:
    """Bring every owner's tables of the database at `url` to the installed version; what each went from and to.

    A database that cannot be reached raises `ConfigurationError` (its password masked)."""
    try:
        engine = create_engine(url)
        before = [_current(engine, STORE_MIGRATIONS), _current(engine, SCHEDULE_MIGRATIONS)]
    except (ImportError, ArgumentError, DBAPIError) as exc:
        raise store_unreachable(url, exc) from None
    try:
        RunStore(url).close()
        ScheduleDatabase(url).close()
        parts = [
            UpgradedPart(_("run store"), before[0], STORE_MIGRATIONS.newest()),
            UpgradedPart(_("schedule service"), before[1], SCHEDULE_MIGRATIONS.newest()),
        ]
        if engine.dialect.name == "postgresql":
            jobs = upgrade_job_schema(engine)
            parts.append(UpgradedPart(_("the fleet's jobs (Procrastinate)"), jobs.before, jobs.after))
    finally:
        engine.dispose()
    return parts


def _current(engine: Engine, migrations: Migrations) -> str | None:
    with engine.connect() as connection:
        return migrations.current(connection)
