"""Run claims: which process runs a run now, and which of a workflow's concurrency slots it holds.

A process that starts or resumes a run claims it in one transaction of the run store; of two processes claiming
the same run or the last free slot, one wins and the other is told who holds it. Whether a holder's process is
still alive is not the store's to probe: the caller says it (`running`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from runner.events import RunStatus
from runner.record.store import RunRecord, RunStore, _last_activity, _run_record, utc_iso
from runner.record.store_database import runs


@dataclass(frozen=True)
class RunClaimant:
    """A process that wants to run a run: a new one, or a resume of `resuming` (as it was read)."""

    run_id: str
    workflow: str
    workflow_file: str
    inputs: dict[str, Any]
    pid: int
    host: str
    proc_started: float | None
    # The workflow's concurrency slots, one of which the run must hold; () for no limit.
    slots: tuple[str, ...] = ()
    resuming: RunRecord | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class RunClaim:
    """The outcome of a claim: taken, or refused because `holder` resumes the same run or fills the slots."""

    taken: bool
    holder: RunRecord | None = None
    conflict: str = ""  # "run": the run is being resumed by holder; "workflow": holder runs the same workflow


class _Refused(Exception):
    def __init__(self, claim: RunClaim) -> None:
        self.claim = claim


def claim_run(store: RunStore, claimant: RunClaimant, running: Callable[[RunRecord], bool]) -> RunClaim:
    """Make the run ours in one transaction, or say who holds it (the loser of a race is refused).

    A resume is a conditional update: it bumps `sessions` only where it still has the value read before, so of
    two processes resuming one run, one wins. A workflow limited to N runs at once has N slots, unique in the
    table: the run takes a slot that is free or held by a run that is no longer `running` (its process is gone).
    """
    from sqlalchemy.exc import IntegrityError

    for _attempt in range(5):
        try:
            with store.begin() as connection:
                _claim(connection, claimant, running)
            return RunClaim(True)
        except _Refused as refused:
            return refused.claim
        except IntegrityError:
            continue  # another process took the slot we chose between our look and our write: look again
    return RunClaim(False, _slot_holder(store, claimant), "workflow")


def release_slot(store: RunStore, run_id: str, pid: int) -> None:
    """Free the workflow slot a run of process `pid` holds (its run ended without recording its end)."""
    with store.begin() as connection:
        connection.execute(
            update(runs).where(runs.c.id == run_id, runs.c.pid == pid).values(workflow_lock=None)
        )


def _claim(connection: Connection, claimant: RunClaimant, running: Callable[[RunRecord], bool]) -> None:
    now = utc_iso()
    process = {
        "status": str(RunStatus.RUNNING),
        "pid": claimant.pid,
        "host": claimant.host,
        "proc_started": claimant.proc_started,
        "session_started_at": now,
    }
    previous = claimant.resuming
    # The first statement writes, so that on SQLite the claim holds the database's write lock from here on.
    if previous is not None:
        result = connection.execute(
            update(runs)
            .where(runs.c.id == previous.id, func.coalesce(runs.c.sessions, 1) == previous.sessions)
            .values(
                **process,
                sessions=previous.sessions + 1,
                prior_duration=_elapsed(connection, previous),
                finished_at=None,
            )
        )
        if not result.rowcount:
            raise _Refused(RunClaim(False, _record(connection, previous.id), "run"))
        # Read again, now that the row is ours: a run started since may have taken a slot it held.
        own_slot = connection.execute(select(runs.c.workflow_lock).where(runs.c.id == previous.id)).scalar()
    else:
        connection.execute(
            insert(runs).values(
                id=claimant.run_id,
                workflow=claimant.workflow,
                workflow_file=claimant.workflow_file,
                inputs=claimant.inputs,
                started_at=now,
                sessions=1,
                dry_run=int(claimant.dry_run),
                **process,
            )
        )
        own_slot = None
    if not claimant.slots or own_slot in claimant.slots:
        return
    held = {
        row["workflow_lock"]: _run_record(row)
        for row in connection.execute(
            select(runs).where(runs.c.workflow_lock.in_(claimant.slots), runs.c.id != claimant.run_id)
        ).mappings()
    }
    free = [slot for slot in claimant.slots if slot not in held]
    for slot, holder in held.items():
        if not running(holder):  # its process is gone: the slot is free again
            connection.execute(
                update(runs)
                .where(runs.c.id == holder.id, runs.c.workflow_lock == slot)
                .values(workflow_lock=None)
            )
            free.append(slot)
    if not free:
        raise _Refused(RunClaim(False, next(iter(held.values())), "workflow"))
    connection.execute(update(runs).where(runs.c.id == claimant.run_id).values(workflow_lock=free[0]))


def _slot_holder(store: RunStore, claimant: RunClaimant) -> RunRecord | None:
    with store.engine.connect() as connection:
        row = (
            connection.execute(
                select(runs).where(runs.c.workflow_lock.in_(claimant.slots), runs.c.id != claimant.run_id)
            )
            .mappings()
            .first()
        )
    return _run_record(row) if row else None


def _record(connection: Connection, run_id: str) -> RunRecord | None:
    row = connection.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
    return _run_record(row) if row else None


def _elapsed(connection: Connection, previous: RunRecord) -> float:
    """The seconds the run has run so far, over all its sessions (a crashed one up to its last trace)."""
    if previous.finished_at and previous.duration is not None:
        return previous.duration  # a finished session recorded the total
    start = previous.session_started_at or previous.started_at
    last = _last_activity(connection, previous.id) or start
    try:
        seconds = (dt.datetime.fromisoformat(last) - dt.datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        seconds = 0.0
    return (previous.prior_duration or 0.0) + max(0.0, seconds)
