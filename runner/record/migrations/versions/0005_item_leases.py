"""Leases on work items, for a fleet of bot machines sharing a run's items (`runner.record.leases`).

- `items.worker`: the worker that holds the item's lease, or held it last (the one that did the item).
- `items.token`: the fencing token, bumped at each claim and release: a worker's write carrying an older token is
  refused (its lease was taken over).
- `items.lease_until`, `items.heartbeat_at`: when the lease expires unless renewed, and when it was last renewed.
- `items.payload`: the item as the loop read it (a row), for the worker that claims it.

Items of runs recorded before (and of every single-machine run) have no lease: no claim ever takes them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import JSON, Column, DateTime, Integer, String

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = (
    ("worker", String(200)),
    ("token", Integer),
    ("lease_until", DateTime(timezone=True)),
    ("heartbeat_at", DateTime(timezone=True)),
    ("payload", JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        for name, kind in COLUMNS:
            batch.add_column(Column(name, kind))
    op.create_index("ix_items_claim", "items", ["run_id", "loop", "status", "position"])


def downgrade() -> None:
    op.drop_index("ix_items_claim", table_name="items")
    with op.batch_alter_table("items") as batch:
        for name, _kind in reversed(COLUMNS):
            batch.drop_column(name)
