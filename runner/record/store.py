"""The run store: every run, its steps and its work items, in a database reached through a SQLAlchemy URL.

SQLite (`logs/robo.db`, WAL mode) by default; a PostgreSQL URL works the same for a fleet of bot machines.
The store gives back what it stores: a run recorded `running` whose process died is still `running` here (the
layers that report a status ask `runner.review.liveness`). Its tables and how it is opened are in
`store_database.py`; who runs a run is claimed in `claims.py`; the sink that writes a run's events here is
`store_sink.py`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Update, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from robots.kit import _, format_moment
from runner.events import (
    Effect,
    ItemMark,
    ItemMarked,
    ItemStatus,
    RunFinished,
    RunStarted,
    RunStatus,
    effects_of,
    is_failed,
    touching,
)
from runner.record.store_database import items, open_engine, postgres_text, runs, steps

DRY_RUN_MARK = "(dry run)"


@dataclass(frozen=True)
class RunRecord:
    id: str
    workflow: str
    workflow_file: str
    status: str
    started_at: str
    finished_at: str | None
    duration: float | None
    error: str | None
    inputs: dict[str, Any]
    counts: dict[str, int]
    run_dir: str | None
    pid: int | None
    host: str | None
    resumed_from: str | None
    last_hash: str | None
    proc_started: float | None = None
    sessions: int = 1
    session_started_at: str | None = None
    prior_duration: float | None = None
    workflow_lock: str | None = None
    items: dict[str, int] = dataclasses.field(default_factory=dict)  # the run's work items by status
    dry_run: bool = False

    @property
    def status_label(self) -> str:
        """The status as lists show it: a dry run says so, since it changed nothing."""
        return f"{self.status} {DRY_RUN_MARK}" if self.dry_run else self.status


class RunStore:
    """Reads and writes runs, steps and items."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def shown_url(self) -> str:
        """The store's URL as messages show it: its password masked."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def as_stored(self, text: str) -> str:
        """A text as this store gives it back (the key of an item read again, on PostgreSQL)."""
        return postgres_text(text) if self.engine.dialect.name == "postgresql" else text

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def last_activity(self, run_id: str) -> str | None:
        """When the run last recorded something (an item or a step): where a crashed run stopped."""
        with self.engine.connect() as connection:
            return _last_activity(connection, run_id)

    def record_run_started(self, event: RunStarted, run_dir: Path) -> None:
        values = {
            "workflow": event.workflow,
            "workflow_file": event.workflow_file,
            "status": str(RunStatus.RUNNING),
            "finished_at": None,
            "error": None,
            "inputs": event.inputs,
            "run_dir": str(run_dir),
            "pid": event.pid,
            "host": event.host,
            "resumed_from": event.resumed_from,
            "dry_run": int(event.dry_run),
        }
        with self.begin() as connection:
            exists = connection.execute(select(runs.c.id).where(runs.c.id == event.run_id)).first()
            if exists:  # claimed, or resumed: the run started when its first session did
                connection.execute(update(runs).where(runs.c.id == event.run_id).values(**values))
            else:
                connection.execute(
                    insert(runs).values(
                        id=event.run_id, started_at=event.at, session_started_at=event.at, **values
                    )
                )

    def record_run_finished(self, event: RunFinished, last_hash: str | None) -> None:
        with self.begin() as connection:
            connection.execute(
                update(runs)
                .where(runs.c.id == event.run_id)
                .values(
                    status=event.status,
                    finished_at=event.at,
                    duration=func.coalesce(runs.c.prior_duration, 0.0) + event.duration,
                    error=event.error,
                    counts=event.counts,
                    last_hash=last_hash,
                    workflow_lock=None,
                )
            )

    def set_last_hash(self, run_id: str, last_hash: str) -> None:
        with self.begin() as connection:
            connection.execute(update(runs).where(runs.c.id == run_id).values(last_hash=last_hash))

    def get_run(self, run_id: str) -> RunRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
            if row is None:
                matches = (
                    connection.execute(select(runs).where(runs.c.id.like(f"{run_id}%")).limit(2))
                    .mappings()
                    .all()
                )
                row = matches[0] if len(matches) == 1 else None
            return _run_record(row, _item_counts(connection, [row["id"]])) if row else None

    def run_ids_starting_with(self, beginning: str, *, limit: int) -> list[str]:
        """The ids of at most `limit` runs whose id begins with `beginning`, in order."""
        with self.engine.connect() as connection:
            query = select(runs.c.id).where(runs.c.id.like(f"{beginning}%")).order_by(runs.c.id).limit(limit)
            return [row[0] for row in connection.execute(query)]

    def list_runs(
        self,
        *,
        workflow: str | None = None,
        statuses: Collection[str] = (),
        since: str | None = None,
        limit: int = 50,
        workflow_file: str | None = None,
        dry_run: bool | None = None,
    ) -> list[RunRecord]:
        query = select(runs).order_by(runs.c.started_at.desc()).limit(limit)
        if workflow:
            query = query.where(runs.c.workflow == workflow)
        if workflow_file:
            query = query.where(runs.c.workflow_file == workflow_file)
        if dry_run is not None:
            query = query.where(func.coalesce(runs.c.dry_run, 0) == int(dry_run))
        if statuses:
            query = query.where(runs.c.status.in_([str(status) for status in statuses]))
        if since:
            query = query.where(runs.c.started_at >= since)
        with self.engine.connect() as connection:
            rows = list(connection.execute(query).mappings())
            counts = _item_counts(connection, [row["id"] for row in rows])
        return [_run_record(row, counts) for row in rows]

    def run_steps(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(steps).where(steps.c.run_id == run_id).order_by(steps.c.id))
            return [dict(row) for row in rows.mappings()]

    def run_items(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(items).where(items.c.run_id == run_id).order_by(items.c.loop, items.c.position)
            )
            return [dict(row) for row in rows.mappings()]

    def entered_items(self, workflow_file: str, *, excluding: str) -> list[dict[str, Any]]:
        """Items that runs of `workflow_file` other than `excluding` (dry runs aside) started a change for.

        Rows: `run_id`, `loop`, `key`, `status`, `outcome`, `effects`, the latest run first. A person's `--redo`
        mark clears an item's effects, so such an item is not among them.
        """
        query = (
            select(
                items.c.run_id, items.c.loop, items.c.key, items.c.status, items.c.outcome, items.c.effects
            )
            .join(runs, runs.c.id == items.c.run_id)
            .where(
                runs.c.workflow_file == workflow_file,
                runs.c.id != excluding,
                func.coalesce(runs.c.dry_run, 0) == 0,
                items.c.effects.is_not(None),
            )
            .order_by(runs.c.started_at.desc())
        )
        with self.engine.connect() as connection:
            rows = [dict(row) for row in connection.execute(query).mappings()]
        return [row for row in rows if touching(effects_of(row["effects"]))]

    def write_steps(self, rows: Sequence[dict[str, Any]]) -> None:
        self.write_batch(rows, ())

    def upsert_item(self, run_id: str, loop: str, key: str, **values: Any) -> None:
        self.write_batch((), [ItemValues(run_id, loop, key, values)])

    def write_batch(self, step_rows: Sequence[dict[str, Any]], item_values: Sequence[ItemValues]) -> None:
        """Step rows inserted and items upserted (in order), in one transaction."""
        if not step_rows and not item_values:
            return
        with self.begin() as connection:
            if step_rows:
                connection.execute(insert(steps), list(step_rows))
            for item in item_values:
                _upsert_item(connection, item)

    def record_effect(self, run_id: str, loop: str, key: str, effect: Effect) -> None:
        """Add a changing step's state to the item's effects, committed at once (not with the step batch)."""
        where = (items.c.run_id == run_id, items.c.loop == loop, items.c.key == key)
        with self.begin() as connection:
            found = connection.execute(select(items.c.id, items.c.effects).where(*where)).first()
            effects = [*(found.effects or []), effect.to_dict()] if found is not None else [effect.to_dict()]
            if found is None:  # the item's start is always recorded first; kept for a store written by hand
                connection.execute(
                    insert(items).values(
                        run_id=run_id,
                        loop=loop,
                        key=key,
                        position=0,
                        status=ItemStatus.IN_PROGRESS,
                        effects=effects,
                    )
                )
            else:
                connection.execute(update(items).where(items.c.id == found.id).values(effects=effects))

    def mark_item(self, event: ItemMarked) -> None:
        """A person's verdict on an item to check: `done` (it is entered) or `redo` (do it again, effects cleared)."""
        where = (items.c.run_id == event.run_id, items.c.loop == event.loop, items.c.key == event.key)
        with self.begin() as connection:
            row = connection.execute(select(items.c.id, items.c.outcome).where(*where)).first()
            if row is None:
                raise LookupError(
                    _("run {run_id} has no item {key} in {loop}").format(
                        run_id=event.run_id, key=event.key, loop=event.loop
                    )
                )
            note = _mark_note(event.mark, event.by, event.at, event.comment)
            if event.mark == ItemMark.DONE:
                outcome = {**(row.outcome or {}), "status": str(ItemStatus.DONE), "error": None}
                values: dict[str, Any] = {"status": ItemStatus.DONE, "error": note, "outcome": outcome}
            else:
                values = {"status": ItemStatus.PENDING, "error": note, "effects": []}
            connection.execute(update(items).where(items.c.id == row.id).values(**values))


@dataclass(frozen=True)
class ItemValues:
    """Columns to set on a run's item, the row made if the item has none yet."""

    run_id: str
    loop: str
    key: str
    values: dict[str, Any]


def _upsert_item(connection: Connection, item: ItemValues) -> None:
    names = tuple(item.values)
    values = {f"new_{name}": value for name, value in item.values.items()}
    where = {"where_run_id": item.run_id, "where_loop": item.loop, "where_key": item.key}
    if connection.execute(_item_update(names), {**where, **values}).rowcount == 0:
        connection.execute(
            insert(items), {"run_id": item.run_id, "loop": item.loop, "key": item.key, **item.values}
        )


@functools.cache
def _item_update(names: tuple[str, ...]) -> Update:
    """The statement setting `names` on one item, built once: a run sets the same columns on every item."""
    return (
        update(items)
        .where(
            items.c.run_id == bindparam("where_run_id"),
            items.c.loop == bindparam("where_loop"),
            items.c.key == bindparam("where_key"),
        )
        .values({name: bindparam(f"new_{name}", type_=items.c[name].type) for name in names})
    )


def _last_activity(connection: Connection, run_id: str) -> str | None:
    moments = [
        *connection.execute(
            select(func.max(items.c.finished_at), func.max(items.c.started_at)).where(
                items.c.run_id == run_id
            )
        ).one(),
        connection.execute(select(func.max(steps.c.finished_at)).where(steps.c.run_id == run_id)).scalar(),
    ]
    return max((moment for moment in moments if moment), default=None)


def _item_counts(connection: Connection, run_ids: list[str]) -> dict[str, dict[str, int]]:
    """Each run's work items by status: what the run did over all its sessions."""
    counts: dict[str, dict[str, int]] = {}
    for start in range(0, len(run_ids), 500):
        rows = connection.execute(
            select(items.c.run_id, items.c.status, func.count())
            .where(items.c.run_id.in_(run_ids[start : start + 500]))
            .group_by(items.c.run_id, items.c.status)
        )
        for run_id, status, number in rows:
            counts.setdefault(run_id, {})[status] = number
    return counts


def _whole_run_counts(counts: dict[str, int], by_status: dict[str, int]) -> dict[str, int]:
    """The last session's counters, with its item counts replaced by the run's own (all sessions together)."""
    if not by_status:
        return counts
    whole = {name: value for name, value in counts.items() if not name.startswith("items_")}
    whole["items_done"] = by_status.get(ItemStatus.DONE, 0)
    whole["items_failed"] = sum(number for status, number in by_status.items() if is_failed(status))
    whole["items_to_check"] = by_status.get(ItemStatus.TO_CHECK, 0)
    return whole


def _run_record(row: Any, item_counts: dict[str, dict[str, int]] | None = None) -> RunRecord:
    by_status = (item_counts or {}).get(row["id"], {})
    return RunRecord(
        id=row["id"],
        workflow=row["workflow"],
        workflow_file=row["workflow_file"],
        status=row["status"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        duration=row["duration"],
        error=row["error"],
        inputs=row["inputs"] or {},
        counts=_whole_run_counts(row["counts"] or {}, by_status),
        run_dir=row["run_dir"],
        pid=row["pid"],
        host=row["host"],
        resumed_from=row["resumed_from"],
        last_hash=row["last_hash"],
        proc_started=row["proc_started"],
        sessions=row["sessions"] or 1,
        session_started_at=row["session_started_at"],
        prior_duration=row["prior_duration"],
        workflow_lock=row["workflow_lock"],
        items=by_status,
        dry_run=bool(row["dry_run"]),
    )


def utc_iso(moment: dt.datetime | None = None) -> str:
    return (moment or dt.datetime.now(dt.UTC)).isoformat(timespec="milliseconds")


def _mark_note(mark: str, by: str, at: str, comment: str = "") -> str:
    """What an item marked by a person says of it: who, when (in the zone for humans, labelled), and their
    comment."""
    try:
        moment = format_moment(dt.datetime.fromisoformat(at), labelled=True)
    except ValueError:
        moment = at
    if mark == ItemMark.DONE:
        note = _("marked done by {person} on {moment}").format(person=by, moment=moment)
    else:
        note = _("marked redo by {person} on {moment}").format(person=by, moment=moment)
    return _("{note}: {comment}").format(note=note, comment=comment) if comment else note
