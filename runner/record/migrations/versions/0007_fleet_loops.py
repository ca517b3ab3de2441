"""Loops a run shares out to a fleet's workers (`distribute:`): what a worker needs to do their items as the run
would, so that every worker runs the workflow the run started, whatever version its own disk holds.

- `fleet_loops.source`: the workflow file's text when the run started; `workflow_file`, `workflow_dir`: where it was
  (a worker reads the loop's other files, templates and data, from there when its machine has that folder).
- `fleet_loops.step`: the loop's place in the workflow (`steps[2]`), `total` its item count, `queue` the workers'.
- `fleet_loops.context`: what the loop's items see besides themselves (inputs, vars, saved results, the run's
  facts), never a secret: each worker resolves the workflow's secrets itself.
- `fleet_loops.stopped`: the failure that stops the loop, written by the worker that met it (a refused login, an
  item failed under `on_error: fail`): the run stops its workers' jobs and fails with it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import JSON, Column, DateTime, Integer, String, Text, UniqueConstraint

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fleet_loops",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", String(64), nullable=False),
        Column("loop", String(200), nullable=False),
        Column("workflow_file", Text, nullable=False),
        Column("workflow_dir", Text, nullable=False),
        Column("source", Text, nullable=False),
        Column("total", Integer, nullable=False),
        Column("queue", String(64), nullable=False),
        Column("context", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("stopped", JSON),
        UniqueConstraint("run_id", "loop", name="uq_fleet_loops_run_loop"),
    )


def downgrade() -> None:
    op.drop_table("fleet_loops")
