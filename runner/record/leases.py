"""Leases on work items: the workers of a fleet share a run's items, and each item is done by one worker at a time.

The guarantee lives in the run store's `items` table, not in the job queue that carries work to the workers:
- a run's items are first written `pending` (`enqueue`);
- a worker takes up to n of them in one transaction (`claim`): on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED`,
  so two workers claiming at once never take the same row and never wait for each other; on SQLite (one machine)
  a `BEGIN IMMEDIATE` transaction, which holds the database's write lock from its start. Claimed items are marked
  `in_progress` in that same transaction, with the worker's name, a lease expiry and a new fencing token;
- the worker renews its leases while it works (`renew`, its heartbeat), says when it begins an item (`begin`),
  records each change it starts (`record_effect`) and the item's end (`finish`): each of these is refused
  (`LeaseLost`) when the item's token is no longer the worker's, so a worker that froze past its lease and woke
  up can neither enter the item nor overwrite what the worker that took it over recorded;
- an item whose lease expired is claimed again by another worker, flagged `reclaimed` with what the first one
  recorded (`previous`: its status and effects), so that the engine applies the work-item rule of a resumed run
  (`runner.engine.items`): the loop's `already_done` check first, or `to_check` without one for an item a change
  was started for;
- a worker that stops (SIGTERM) gives back the items it has not begun (`release`).

Moments are the database server's on PostgreSQL (`now()`): the workers' clocks may differ, the server's is one.
Items of single-machine runs have no lease, so no claim ever takes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Interval, and_, bindparam, case, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from robots.kit import RoboError, _
from runner.engine import PreviousItem
from runner.events import ENDED, FAILED, Effect, ItemStatus, effects_of, item_status_text
from runner.record.store import RunStore
from runner.record.store_database import items
from runner.record.timestamps import UtcTimestamp


class LeaseLost(RoboError):
    """The worker's lease on an item is gone (expired and taken over, or released): its write is refused."""

    kind = "application"


@dataclass(frozen=True)
class ItemLease:
    """An item a worker claimed: its place in the run, its payload, and the fencing token its writes carry."""

    id: int
    run_id: str
    loop: str
    key: str
    position: int
    worker: str
    token: int
    payload: Any
    previous: PreviousItem | None  # what the item was before this claim (None: never begun, nothing recorded)

    @property
    def reclaimed(self) -> bool:
        """Another worker began the item and lost its lease: it may have entered it (the engine checks)."""
        return self.previous is not None and self.previous.status == ItemStatus.IN_PROGRESS


@dataclass(frozen=True)
class LoopTally:
    """How a distributed loop's items stand (`ItemLeases.tally`)."""

    pending: int  # no worker has them
    held: int  # a worker holds them under a live lease
    expired: int  # their worker stopped renewing the lease: the next claim takes them
    finished: int

    @property
    def claimable(self) -> int:
        return self.pending + self.expired

    @property
    def open(self) -> int:
        """Items not finished yet."""
        return self.pending + self.held + self.expired


@dataclass(frozen=True)
class HeldItem:
    """An item a worker holds under a live lease (`ItemLeases.held_items`); `started_at` None: claimed, not begun."""

    worker: str
    run_id: str
    loop: str
    key: str
    started_at: str | None


class ItemLeases:
    """Claims, renews and finishes leases on the items of a run store's runs."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._postgres = store.engine.dialect.name == "postgresql"

    def enqueue(self, run_id: str, loop: str, entries: Iterable[tuple[str, int, Any]]) -> int:
        """Write the loop's items (key, position, payload) `pending`; an item the run has already is kept as it is
        (a run enqueued again after a crash does not undo what its workers did). How many were added."""
        rows = [
            {
                "run_id": run_id,
                "loop": loop,
                "key": key,
                "position": position,
                "payload": payload,
                "status": str(ItemStatus.PENDING),
                "token": 0,
            }
            for key, position, payload in entries
        ]
        if not rows:
            return 0
        insert = postgres_insert if self._postgres else sqlite_insert
        statement = insert(items).on_conflict_do_nothing(index_elements=["run_id", "loop", "key"])
        counting = select(func.count()).where(items.c.run_id == run_id, items.c.loop == loop)
        with self._writing() as connection:
            before = connection.execute(counting).scalar_one()
            for start in range(0, len(rows), 500):
                connection.execute(statement, rows[start : start + 500])
            added: int = connection.execute(counting).scalar_one() - before
        return added

    def claim(self, run_id: str, loop: str, worker: str, n: int, lease_seconds: float) -> list[ItemLease]:
        """Up to `n` of the loop's items, in order, that are pending or whose lease expired: now `worker`'s,
        `in_progress` until `lease_seconds` from now unless renewed. Never an item another claim holds."""
        if n < 1:
            return []
        now = self._now()
        claimable = or_(
            items.c.status == ItemStatus.PENDING,
            and_(
                items.c.status == ItemStatus.IN_PROGRESS,
                items.c.lease_until.is_not(None),
                items.c.lease_until < now,
            ),
        )
        query = (
            select(items)
            .where(items.c.run_id == run_id, items.c.loop == loop, claimable)
            .order_by(items.c.position, items.c.id)
            .limit(n)
            .with_for_update(skip_locked=True)
        )
        with self._writing() as connection:
            rows = list(connection.execute(query).mappings())
            if not rows:
                return []
            connection.execute(
                update(items)
                .where(items.c.id.in_([row["id"] for row in rows]))
                .values(
                    status=ItemStatus.IN_PROGRESS,
                    worker=worker,
                    token=func.coalesce(items.c.token, 0) + 1,
                    lease_until=self._later(lease_seconds),
                    heartbeat_at=now,
                )
            )
        return [
            ItemLease(
                id=row["id"],
                run_id=row["run_id"],
                loop=row["loop"],
                key=row["key"],
                position=row["position"],
                worker=worker,
                token=(row["token"] or 0) + 1,
                payload=row["payload"],
                previous=_previous(row),
            )
            for row in rows
        ]

    def renew(self, leases: Sequence[ItemLease], lease_seconds: float) -> list[ItemLease]:
        """Push back the expiry of the worker's leases (its heartbeat); the leases it lost meanwhile."""
        lost: list[ItemLease] = []
        with self._writing() as connection:
            for lease in leases:
                renewed = connection.execute(
                    update(items)
                    .where(*_held(lease))
                    .values(lease_until=self._later(lease_seconds), heartbeat_at=self._now())
                )
                if renewed.rowcount == 0:
                    lost.append(lease)
        return lost

    def begin(self, lease: ItemLease) -> None:
        """The worker begins the item: from now on another worker that takes it over checks it first."""
        self._fenced(lease, started_at=self._now(), heartbeat_at=self._now())

    def record_effect(self, lease: ItemLease, effect: Effect) -> None:
        """Add a changing step's state to the item's effects, before the step acts (refused: `LeaseLost`)."""
        with self._writing() as connection:
            row = connection.execute(select(items.c.effects).where(*_held(lease)).with_for_update()).first()
            if row is None:
                raise self._lost(connection, lease)
            connection.execute(
                update(items)
                .where(items.c.id == lease.id)
                .values(effects=[*(row.effects or []), effect.to_dict()], heartbeat_at=self._now())
            )

    def finish(
        self,
        lease: ItemLease,
        status: str,
        *,
        outcome: dict[str, Any] | None = None,
        error: str | None = None,
        duration: float | None = None,
    ) -> None:
        """What the item became, recorded if the lease is still the worker's (else `LeaseLost`, nothing written)."""
        if status not in ENDED:
            raise ValueError(f"an item is finished as one of {sorted(map(str, ENDED))}, not {str(status)!r}")
        self._fenced(
            lease,
            status=status,
            outcome=outcome,
            error=error,
            duration=duration,
            finished_at=self._now(),
            heartbeat_at=self._now(),
            lease_until=None,
        )

    def reopen_failed(self, run_id: str, loop: str) -> int:
        """The loop's failed items back to `pending`, for a resumed run's workers to do again (their effects kept:
        one that may have entered something is checked first); how many. Items to check stay for a person."""
        with self._writing() as connection:
            reopened = connection.execute(
                update(items)
                .where(items.c.run_id == run_id, items.c.loop == loop, items.c.status.in_(sorted(FAILED)))
                .values(
                    status=ItemStatus.PENDING, lease_until=None, token=func.coalesce(items.c.token, 0) + 1
                )
            )
            return int(reopened.rowcount)

    def release(self, leases: Sequence[ItemLease]) -> None:
        """Give back items the worker holds: one it never began becomes `pending` again; one begun (by it or a
        worker before it) keeps its record, its lease expired at once, so that the next claim checks it. The
        worker's tokens are spent: a late write of its own is refused. Items already lost are passed over."""
        with self._writing() as connection:
            for lease in leases:
                connection.execute(
                    update(items)
                    .where(*_held(lease))
                    .values(
                        status=case(
                            (items.c.started_at.is_(None), literal(str(ItemStatus.PENDING))),
                            else_=items.c.status,
                        ),
                        lease_until=case((items.c.started_at.is_(None), None), else_=self._now()),
                        token=items.c.token + 1,
                    )
                )

    def tally(self, run_id: str, loop: str) -> LoopTally:
        """How the loop's items stand: waiting for a worker, held under a live lease, expired, finished."""
        now = self._now()
        live = and_(items.c.status == ItemStatus.IN_PROGRESS, items.c.lease_until >= now)
        dead = and_(items.c.status == ItemStatus.IN_PROGRESS, items.c.lease_until < now)
        query = select(
            func.count().filter(items.c.status == ItemStatus.PENDING),
            func.count().filter(live),
            func.count().filter(dead),
            func.count().filter(items.c.status.in_([str(status) for status in ENDED])),
        ).where(items.c.run_id == run_id, items.c.loop == loop)
        with self._writing() as connection:
            pending, held, expired, finished = connection.execute(query).one()
        return LoopTally(pending, held, expired, finished)

    def finished_since(self, run_id: str, loop: str, since: dt.datetime | None) -> list[dict[str, Any]]:
        """The loop's items finished at `since` or after (all of them when None), the earliest first: what the
        run that waits for its workers has to say next. Read again with the latest `finished_at` minus a margin
        (a finish committed late carries its transaction's start): the caller drops those it said already."""
        query = (
            select(
                items.c.key,
                items.c.position,
                items.c.status,
                items.c.duration,
                items.c.error,
                items.c.outcome,
                items.c.worker,
                items.c.finished_at,
            )
            .where(
                items.c.run_id == run_id,
                items.c.loop == loop,
                items.c.status.in_([str(status) for status in ENDED]),
            )
            .order_by(items.c.finished_at, items.c.position)
        )
        if since is not None:
            query = query.where(items.c.finished_at >= since)
        with self.store.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def expired(self, run_id: str) -> list[str]:
        """The keys of the run's items whose lease expired (their worker stopped renewing it), in order."""
        with self._writing() as connection:
            query = (
                select(items.c.key)
                .where(
                    items.c.run_id == run_id,
                    items.c.status == ItemStatus.IN_PROGRESS,
                    items.c.lease_until < self._now(),
                )
                .order_by(items.c.loop, items.c.position)
            )
            return [row.key for row in connection.execute(query)]

    def held_items(self) -> list[HeldItem]:
        """Every item a worker holds under a live lease, by worker, the begun ones first (read only)."""
        query = (
            select(items.c.worker, items.c.run_id, items.c.loop, items.c.key, items.c.started_at)
            .where(
                items.c.status == ItemStatus.IN_PROGRESS,
                items.c.worker.is_not(None),
                items.c.lease_until.is_not(None),
                items.c.lease_until >= self._now(),
            )
            .order_by(items.c.worker, items.c.started_at.is_(None), items.c.started_at.desc(), items.c.id)
        )
        with self.store.engine.connect() as connection:
            return [
                HeldItem(row.worker, row.run_id, row.loop, row.key, row.started_at)
                for row in connection.execute(query)
            ]

    def open_loops(self) -> list[tuple[str, str]]:
        """The (run, loop) of the distributed loops that still have items to finish, in order (read only).

        A distributed loop's items carry a fencing token from `enqueue` on; a single-machine run's have none."""
        query = (
            select(items.c.run_id, items.c.loop)
            .where(
                items.c.token.is_not(None),
                items.c.status.in_([str(ItemStatus.PENDING), str(ItemStatus.IN_PROGRESS)]),
            )
            .group_by(items.c.run_id, items.c.loop)
            .order_by(items.c.run_id, items.c.loop)
        )
        with self.store.engine.connect() as connection:
            return [(row.run_id, row.loop) for row in connection.execute(query)]

    def _fenced(self, lease: ItemLease, **values: Any) -> None:
        with self._writing() as connection:
            if connection.execute(update(items).where(*_held(lease)).values(**values)).rowcount == 0:
                raise self._lost(connection, lease)

    def _lost(self, connection: Connection, lease: ItemLease) -> LeaseLost:
        """Why the lease is no longer the worker's, said with who holds the item now."""
        row = connection.execute(
            select(items.c.worker, items.c.status, items.c.token).where(items.c.id == lease.id)
        ).first()
        if row is not None and row.worker and row.worker != lease.worker:
            reason = _("worker {worker} took it over after the lease expired").format(worker=row.worker)
        elif row is not None and row.status != ItemStatus.IN_PROGRESS:
            reason = _("it is recorded as {status} already").format(status=item_status_text(row.status))
        else:
            reason = _("the lease was given back or taken over")
        return LeaseLost(
            _("item {key} of run {run_id} is no longer held by worker {worker}: {reason}").format(
                key=lease.key, run_id=lease.run_id, worker=lease.worker, reason=reason
            ),
            hint=_(
                "nothing this worker did for it afterwards is recorded; give the workers a longer lease if"
                " their items take longer than it"
            ),
        )

    def _now(self) -> ColumnElement[Any]:
        if self._postgres:
            return func.now()
        return literal(dt.datetime.now(dt.UTC), UtcTimestamp())

    def _later(self, seconds: float) -> ColumnElement[Any]:
        """`seconds` from now, by the same clock as `_now`."""
        if self._postgres:
            return func.now() + bindparam("lease", dt.timedelta(seconds=seconds), type_=Interval())
        return literal(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds), UtcTimestamp())

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A transaction; on SQLite one that holds the write lock from its start, so that what it reads stays
        true until it writes (SQLite has no row locks)."""
        with self.store.engine.begin() as connection:
            if not self._postgres:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield connection


def _held(lease: ItemLease) -> tuple[ColumnElement[bool], ...]:
    """The item is still in progress under this lease's token."""
    return (
        items.c.id == lease.id,
        items.c.token == lease.token,
        items.c.status == ItemStatus.IN_PROGRESS,
    )


def _previous(row: Any) -> PreviousItem | None:
    """What the item was before the claim, for the engine's rules; None for an item never begun nor recorded."""
    effects = tuple(effects_of(row["effects"]))
    begun = row["started_at"] is not None
    if row["status"] == ItemStatus.PENDING and begun:
        # Failed in an earlier session of the run, reopened (`reopen_failed`): checked first, as an item the
        # run had begun.
        return PreviousItem(ItemStatus.IN_PROGRESS, row["outcome"], effects)
    if row["status"] == ItemStatus.PENDING and not effects and row["outcome"] is None:
        return None
    if row["status"] == ItemStatus.IN_PROGRESS and not begun and not effects:
        return None  # claimed by a worker that stopped before beginning it
    return PreviousItem(row["status"], row["outcome"], effects)
