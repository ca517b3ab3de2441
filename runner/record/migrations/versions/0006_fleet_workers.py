"""A fleet's workers (`runner.fleet.FleetWorkers`): each worker registers here when it starts, beats while it runs
and says when it stops, so that `robo fleet status` and the console tell the live workers from the silent ones.

- `name`: unique; a name is taken over only from a worker that stopped or went silent.
- `queues`: a JSON list of the queues it takes jobs from (empty: all); `concurrency`: its jobs at once.
- `heartbeat_seconds`: how often it beats; it is silent (dead) after three beats missed.
- `token`: bumped at each registration, so that a worker whose name was taken over beats no more.
- `started_at`, `heartbeat_at`, `stopped_at`: moments of the database server on PostgreSQL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import JSON, Column, DateTime, Float, Integer, String

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fleet_workers",
        Column("name", String(200), primary_key=True),
        Column("host", String(200), nullable=False),
        Column("pid", Integer, nullable=False),
        Column("queues", JSON, nullable=False),
        Column("concurrency", Integer, nullable=False),
        Column("heartbeat_seconds", Float, nullable=False),
        Column("token", Integer, nullable=False),
        Column("started_at", DateTime(timezone=True), nullable=False),
        Column("heartbeat_at", DateTime(timezone=True), nullable=False),
        Column("stopped_at", DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("fleet_workers")
