"""The console's users: a name, a role and an argon2 hash of the password (`robo users`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, DateTime, String, Text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        Column("name", String(200), primary_key=True),
        Column("role", String(32), nullable=False),
        Column("password_hash", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("changed_at", DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("users")
