"""Alembic's environment, run by `runner.record.upgrade.upgrade_to_head` on the connection it opened."""

from runner.record import run_migrations

run_migrations()
