"""The schedule service's tables as Rob'O made them before Alembic: `schedule_services`, `schedule_jobs`,
`schedule_fires`, `schedule_requests`.

A new database gets the four tables; one made before Alembic (no version table yet) keeps its tables and rows.
APScheduler's own job table is APScheduler's: it is not a migration's. The tables are a frozen copy of
`runner.schedule.database`'s as they were then: later changes belong to later migrations.

Unlike the run store's, these times need no migration to timezone-aware timestamps: they are seconds since the
epoch (floats, free of any time zone), except a fire's due time, which is the text key of its lock (UTC).

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from runner.record import create_or_complete

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

baseline = MetaData()

Table(
    "schedule_services",
    baseline,
    Column("id", String(64), primary_key=True),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("beat_at", Float, nullable=False),
    Column("state", String(16), nullable=False),
    Column("schedules", Integer),
    Column("workflows_dir", Text),
)

Table(
    "schedule_jobs",
    baseline,
    Column("job_id", String(300), primary_key=True),
    Column("paused", Integer, nullable=False),
    Column("changed_at", Float),
    Column("changed_by", String(200)),
)

Table(
    "schedule_fires",
    baseline,
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

Table(
    "schedule_requests",
    baseline,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(300), nullable=False),
    Column("requested_at", Float, nullable=False),
    Column("requested_by", String(200)),
    Column("claimed_by", String(64)),
    Column("claimed_at", Float),
    Column("fire_id", Integer),
)


def upgrade() -> None:
    create_or_complete(op.get_bind(), baseline)


def downgrade() -> None:
    for table in reversed(baseline.sorted_tables):
        op.drop_table(table.name)
