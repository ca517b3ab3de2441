"""The loops a run shares out to a fleet's workers (`distribute:`), as the run store keeps them for the workers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from robots.kit import ConfigurationError, RoboError, _
from runner.record.store import RunStore
from runner.record.store_database import fleet_loops


@dataclass(frozen=True)
class SharedLoop:
    """What a worker needs to do a loop's items as the run would (`context` still tagged: `from_payload`)."""

    run_id: str
    loop: str
    workflow_file: str
    workflow_dir: str
    source: str
    total: int
    queue: str
    context: dict[str, Any]
    stopped: dict[str, Any] | None = None  # the failure that stops the loop: kind, message, hint


class SharedLoops:
    """Writes a run's shared loops (the run) and reads them (its workers)."""

    def __init__(self, store: RunStore) -> None:
        self._engine = store.engine

    def share(self, loop: SharedLoop) -> None:
        """Record the loop; a run resumed keeps the record it wrote first (its workers may be using it)."""
        insert = postgres_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        values = {**loop.__dict__, "created_at": dt.datetime.now(dt.UTC)}
        del values["stopped"]  # SQL NULL until a worker stops the loop
        statement = (
            insert(fleet_loops).values(**values).on_conflict_do_nothing(index_elements=["run_id", "loop"])
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    def stop(self, run_id: str, loop: str, worker: str, error: RoboError) -> None:
        """A worker met a failure that stops the loop (the first one said is kept)."""
        reason = {"kind": error.kind, "message": error.message, "hint": error.hint, "worker": worker}
        with self._engine.begin() as connection:
            connection.execute(
                update(fleet_loops)
                .where(
                    fleet_loops.c.run_id == run_id,
                    fleet_loops.c.loop == loop,
                    fleet_loops.c.stopped.is_(None),
                )
                .values(stopped=reason)
            )

    def stopped(self, run_id: str, loop: str) -> dict[str, Any] | None:
        """Why the loop stopped, if a worker stopped it."""
        query = select(fleet_loops.c.stopped).where(
            fleet_loops.c.run_id == run_id, fleet_loops.c.loop == loop
        )
        with self._engine.connect() as connection:
            reason = connection.execute(query).scalar()
        return dict(reason) if reason else None

    def get(self, run_id: str, loop: str) -> SharedLoop:
        """The loop a job names; a clear error when the run store has no such loop (a job from another store)."""
        query = select(fleet_loops).where(fleet_loops.c.run_id == run_id, fleet_loops.c.loop == loop)
        with self._engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            raise ConfigurationError(
                _("run {run_id} shared no loop {loop} in this run store").format(run_id=run_id, loop=loop),
                hint=_("the worker and the run must use the same database (ROBO_STORE_URL)"),
            )
        return SharedLoop(**{name: row[name] for name in SharedLoop.__dataclass_fields__})
