"""The run store as Rob'O made it before Alembic: tables `runs`, `steps`, `items`.

A new database gets the three tables; a database made before Alembic (no version table yet) keeps its tables and
rows, and gets the columns and indexes its version of Rob'O did not have yet. The tables are a frozen copy of
`runner.record.store_database`'s as they were then: later changes belong to later migrations.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    JSON,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from runner.record.upgrade import create_or_complete

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

baseline = MetaData()

Table(
    "runs",
    baseline,
    Column("id", String(64), primary_key=True),
    Column("workflow", Text, nullable=False, index=True),
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
    Column("dry_run", Integer),
    Column("last_hash", String(64)),
    Column("proc_started", Float),
    Column("sessions", Integer),
    Column("session_started_at", String(40)),
    Column("prior_duration", Float),
    Column("workflow_lock", Text),
    Index("uq_runs_workflow_lock", "workflow_lock", unique=True),
)

Table(
    "steps",
    baseline,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("step", String(200), nullable=False),
    Column("name", Text, nullable=False),
    Column("item", Text),
    Column("lane", Integer),
    Column("status", String(32), nullable=False),
    Column("finished_at", String(40)),
    Column("duration", Float),
    Column("error", Text),
    Index("ix_steps_run", "run_id"),
)

Table(
    "items",
    baseline,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("loop", String(200), nullable=False),
    Column("key", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("started_at", String(40)),
    Column("finished_at", String(40)),
    Column("duration", Float),
    Column("attempts", Integer),
    Column("error", Text),
    Column("outcome", JSON),
    Column("effects", JSON),
    UniqueConstraint("run_id", "loop", "key", name="uq_items_run_loop_key"),
    Index("ix_items_run_status", "run_id", "status"),
)


def upgrade() -> None:
    create_or_complete(op.get_bind(), baseline)


def downgrade() -> None:
    for table in reversed(baseline.sorted_tables):
        op.drop_table(table.name)
