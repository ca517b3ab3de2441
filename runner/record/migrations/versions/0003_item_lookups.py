"""Indexes for the console's lookups across runs: an item by its key (a case number finds the runs that touched
it) and the items of a status (the failed and `to_check` items of every run).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_key", "items", ["key"])
    op.create_index("ix_items_status", "items", ["status"])


def downgrade() -> None:
    op.drop_index("ix_items_status", table_name="items")
    op.drop_index("ix_items_key", table_name="items")
