"""Moments as timezone-aware timestamps; the dead column `items.attempts` dropped.

- `runs.started_at`, `runs.finished_at`, `runs.session_started_at`, `steps.finished_at`, `items.started_at` and
  `items.finished_at` were ISO text (`VARCHAR(40)`, `2026-11-30T14:20:22.123+00:00`), compared and sorted as
  strings: they become `DateTime(timezone=True)`. PostgreSQL converts the text (`USING …::timestamptz`, text
  without an offset read as UTC); on SQLite, which keeps DATETIME as text, each value is rewritten in UTC in
  SQLAlchemy's format (`2026-11-30 14:20:22.123000`) and the table is rebuilt with the new column types (a value
  SQLite cannot read as a moment is kept as it was). The code still reads and writes ISO text in UTC
  (`runner.record.timestamps.UtcTimestamp`).
- `items.attempts`: nothing ever wrote it (always its default, 0) nor read it (the report counts an item's
  retries from the audit log). Only `robo runs show --format json` listed it, always 0, among an item's fields.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, DateTime, Integer, String

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MOMENTS = {
    "runs": {"started_at": False, "finished_at": True, "session_started_at": True},
    "steps": {"finished_at": True},
    "items": {"started_at": True, "finished_at": True},
}  # table: {column: nullable}
SQLITE_MOMENT = "strftime('%Y-%m-%d %H:%M:%f', {column}) || '000'"  # SQLAlchemy's DATETIME text, in UTC


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
        return
    op.execute("SET LOCAL TIME ZONE 'UTC'")  # PostgreSQL: text without an offset is a UTC moment
    for table, columns in MOMENTS.items():
        with op.batch_alter_table(table) as batch:
            for column, nullable in columns.items():
                batch.alter_column(
                    column,
                    type_=DateTime(timezone=True),
                    existing_type=String(40),
                    existing_nullable=nullable,
                    postgresql_using=f"{column}::timestamptz",
                )
            if table == "items":
                batch.drop_column("attempts")


def _upgrade_sqlite() -> None:
    """The values rewritten in place, then each table rebuilt with its columns declared DATETIME: told as the
    reflected columns' types, so that the copy does not CAST them (a CAST to DATETIME would keep the year only)."""
    for table, columns in MOMENTS.items():
        for column in columns:
            moment = SQLITE_MOMENT.format(column=column)
            op.execute(f"UPDATE {table} SET {column} = coalesce({moment}, {column})")
        declared = tuple(Column(column, DateTime(timezone=True), nullable=n) for column, n in columns.items())
        with op.batch_alter_table(table, recreate="always", reflect_args=declared) as batch:
            if table == "items":
                batch.drop_column("attempts")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, columns in MOMENTS.items():
        with op.batch_alter_table(table) as batch:
            for column, nullable in columns.items():
                batch.alter_column(
                    column,
                    type_=String(40),
                    existing_type=DateTime(timezone=True),
                    existing_nullable=nullable,
                    postgresql_using=(
                        f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+00:00\"')"
                    ),
                )
            if table == "items":
                batch.add_column(Column("attempts", Integer))
        if dialect == "sqlite":
            for column in columns:
                iso = f"strftime('%Y-%m-%dT%H:%M:%f', {column}) || '+00:00'"
                op.execute(f"UPDATE {table} SET {column} = coalesce({iso}, {column})")
