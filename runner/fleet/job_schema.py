"""Procrastinate's tables (the fleet's jobs) in the run store's PostgreSQL database, made and kept up to date.

Procrastinate ships its whole schema (`schema.sql`, for a new database) and one SQL file per change since
(`sql/migrations/MM.mm.pp_NN_what.sql`), but keeps no record of which version a database has: that is left to
the application's own migrations. Rob'O records it in `robo_job_schema` (one row: the Procrastinate version the
tables match, and how far into that version's files), so that `robo db upgrade` after an upgrade of Procrastinate
applies exactly the files of the versions in between, in order, and refuses a database made by a newer
Procrastinate than the installed one. The upgraders of a database take turns under the store's advisory lock
(`runner.record.holding_upgrade_lock`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata as distributions
from importlib import resources

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, delete, insert, inspect, select
from sqlalchemy.engine import Connection

from robots.kit import ConfigurationError, _
from runner.record import holding_upgrade_lock

schema_metadata = MetaData()
job_schema = Table(
    "robo_job_schema",
    schema_metadata,
    Column("version", String(32), nullable=False),  # Procrastinate's version the tables match, or are at
    Column(
        "step", Integer, nullable=False
    ),  # the last migration file of that version applied (ALL_STEPS: all)
)
ALL_STEPS = 9999

JOBS_TABLE = "procrastinate_jobs"
_MIGRATION = re.compile(r"(\d+)\.(\d+)\.(\d+)_(\d+)_\w+\.sql")

Version = tuple[int, int, int]
Step = tuple[int, int, int, int]  # a version and one of its migration files' order


@dataclass(frozen=True)
class JobSchemaUpgrade:
    """What an upgrade did: the Procrastinate version the tables matched before (None: none yet), and now."""

    before: str | None
    after: str
    applied: tuple[str, ...]  # the SQL files run, in order (`schema.sql` for a new database)


def installed_version() -> str:
    """The installed Procrastinate's version (`3.10.0`); a ConfigurationError when it is not installed."""
    try:
        return distributions.version("procrastinate")
    except distributions.PackageNotFoundError:
        raise ConfigurationError(
            _("the fleet's jobs need Procrastinate, which is not installed here"),
            hint=_("install it with: pip install 'robo-rpa[postgres]'"),
        ) from None


def upgrade_job_schema(engine: Engine) -> JobSchemaUpgrade:
    """Make Procrastinate's tables, or bring them to the installed version (see the module).

    Each file is committed with the record of how far the tables are, before the next one runs: Procrastinate's
    migrations add enum values that PostgreSQL lets the next file use only once committed, and an upgrade stopped
    half-way starts again after the last file it committed.
    """
    if engine.dialect.name != "postgresql":
        raise ConfigurationError(
            _("the fleet's jobs need a PostgreSQL run store, not {dialect}").format(
                dialect=engine.dialect.name
            ),
            hint=_("set ROBO_STORE_URL to a URL such as postgresql+psycopg://robo@host/robo"),
        )
    target = installed_version()
    with holding_upgrade_lock(engine) as connection:
        with connection.begin():
            recorded = _recorded(connection, target)
        if recorded is None:
            files = ["schema.sql"]
        else:
            files = _migrations_between(recorded, _version(target))
        for name in files:
            with connection.begin():
                _execute_script(connection, _sql_text(name))
                _record(connection, target if name == "schema.sql" else name)
        with connection.begin():
            _record(connection, target)
    before = None if recorded is None else ".".join(map(str, recorded[:3]))
    return JobSchemaUpgrade(before, target, tuple(files))


def _recorded(connection: Connection, target: str) -> Step | None:
    """How far the database's job tables are: a version and the last of its files applied (None: no tables)."""
    inspector = inspect(connection)
    row = (
        connection.execute(select(job_schema.c.version, job_schema.c.step)).first()
        if inspector.has_table(job_schema.name)
        else None
    )
    if row is None and inspector.has_table(JOBS_TABLE):
        raise ConfigurationError(
            _(
                "the database has Procrastinate's tables, made outside Rob'O: their version is unknown, so"
                " they cannot be upgraded"
            ),
            hint=_(
                "if they match the installed Procrastinate {version}, record it with: INSERT INTO"
                " robo_job_schema VALUES ('{version}', {step})"
            ).format(version=target, step=ALL_STEPS),
        )
    if row is None:
        return None
    recorded = (*_version(row.version), row.step)
    if recorded[:3] > _version(target):
        raise ConfigurationError(
            _(
                "the database's job tables were made by Procrastinate {recorded}, newer than the {installed}"
                " installed here"
            ).format(recorded=row.version, installed=target),
            hint=_("upgrade Rob'O and Procrastinate on this machine (pip install -U 'robo-rpa[postgres]')"),
        )
    return recorded


def _record(connection: Connection, done: str) -> None:
    """Record that the tables are at a whole version (`3.10.0`) or just after one migration file."""
    found = _MIGRATION.fullmatch(done.removeprefix("migrations/"))
    version, step = (f"{found[1]}.{found[2]}.{found[3]}", int(found[4])) if found else (done, ALL_STEPS)
    schema_metadata.create_all(connection)
    connection.execute(delete(job_schema))
    connection.execute(insert(job_schema).values(version=version, step=step))


def _version(text: str) -> Version:
    found = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if found is None:
        raise ValueError(f"not a version: {text!r}")
    return int(found[1]), int(found[2]), int(found[3] or 0)


def _migrations_between(recorded: Step, target: Version) -> list[str]:
    """Procrastinate's migration files after `recorded` up to `target`, in the order it applies them."""
    folder = resources.files("procrastinate.sql") / "migrations"
    chosen: list[tuple[Step, str]] = []
    for entry in folder.iterdir():
        found = _MIGRATION.fullmatch(entry.name)
        if found is None:
            continue
        step = (int(found[1]), int(found[2]), int(found[3]), int(found[4]))
        if recorded < step and step[:3] <= target:
            chosen.append((step, entry.name))
    return [f"migrations/{name}" for _step, name in sorted(chosen)]


def _sql_text(name: str) -> str:
    return (resources.files("procrastinate.sql") / name).read_text(encoding="utf-8")


def _execute_script(connection: Connection, script: str) -> None:
    """Several statements at once, as Procrastinate's own `apply_schema` sends them, in our transaction: on the
    driver's cursor without parameters, so that its `%` signs are not taken for placeholders."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(script)
    finally:
        cursor.close()
