"""What the console's pages read from the run store: runs filtered and paged, items across runs, with queries
that stay on the store's indexes (runs by start time, workflow and status; items by key, status and run)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Engine

from robots.kit import _
from runner.events import ItemStatus
from runner.record import items, runs
from runner.schedule import fires

PAGE_SIZE = 50
MAX_PAGE = 10_000


class Trigger(StrEnum):
    """Why a run started: fired by the schedule service, started by a person, or a resumed (retried) run."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"
    RETRY = "retry"


def trigger_text(trigger: str) -> str:
    """Why a run started, as a person reads it in their language; an unknown text is shown as it is."""
    words: dict[str, str] = {
        Trigger.SCHEDULED: _("scheduled"),
        Trigger.MANUAL: _("manual"),
        Trigger.RETRY: _("retry"),
    }
    return words.get(trigger, trigger)


ATTENTION = (
    ItemStatus.FAILED_BUSINESS,
    ItemStatus.FAILED_APPLICATION,
    ItemStatus.FAILED_WORKFLOW,
    ItemStatus.TO_CHECK,
)


@dataclass(frozen=True)
class RunFilter:
    """The runs page's filters, as read from its query string (every field optional)."""

    workflow: str = ""
    status: str = ""
    trigger: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    item_key: str = ""
    page: int = 1

    def query(self, **changes: Any) -> dict[str, str]:
        """The query string for these filters (with `changes`), empty fields left out."""
        values = {
            "workflow": self.workflow,
            "status": self.status,
            "trigger": self.trigger,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "item": self.item_key,
            "page": str(self.page) if self.page > 1 else "",
        }
        values.update({key: str(value) for key, value in changes.items()})
        return {key: value for key, value in values.items() if value}


def parse_filter(params: Any) -> RunFilter:
    """The filters of a query string; a value that cannot be read is dropped (a page, never an error)."""
    trigger = query_value(params, "trigger")
    return RunFilter(
        workflow=query_value(params, "workflow"),
        status=query_value(params, "status"),
        trigger=trigger if trigger in set(Trigger) else "",
        since=_date(query_value(params, "since")),
        until=_date(query_value(params, "until")),
        item_key=query_value(params, "item"),
        page=_page(query_value(params, "page")),
    )


def query_value(params: Any, name: str) -> str:
    """A query string's value, stripped; one holding a NUL (which PostgreSQL refuses in a query) is dropped."""
    value = str(params.get(name, "")).strip()
    return "" if "\x00" in value else value


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def _page(text: str) -> int:
    """A page number of plain digits (not `²` nor 5 000 digits, which `int` refuses), within 1..MAX_PAGE."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    return MAX_PAGE if len(text) > len(str(MAX_PAGE)) else min(max(int(text), 1), MAX_PAGE)


def _scheduled_run_ids() -> Select[Any]:
    return select(fires.c.run_id).where(fires.c.kind == "scheduled", fires.c.run_id.is_not(None))


def _filtered(query: Select[Any], wanted: RunFilter) -> Select[Any]:
    if wanted.workflow:
        query = query.where(runs.c.workflow == wanted.workflow)
    if wanted.status:
        query = query.where(runs.c.status == wanted.status)
    if wanted.since:
        query = query.where(runs.c.started_at >= _midnight(wanted.since))
    if wanted.until and wanted.until < dt.date.max:  # until the last day there is: no bound (no day after it)
        query = query.where(runs.c.started_at < _midnight(wanted.until + dt.timedelta(days=1)))
    if wanted.item_key:
        query = query.where(runs.c.id.in_(select(items.c.run_id).where(items.c.key == wanted.item_key)))
    if wanted.trigger == Trigger.RETRY:
        query = query.where(runs.c.resumed_from.is_not(None))
    elif wanted.trigger == Trigger.SCHEDULED:
        query = query.where(runs.c.resumed_from.is_(None), runs.c.id.in_(_scheduled_run_ids()))
    elif wanted.trigger == Trigger.MANUAL:
        query = query.where(runs.c.resumed_from.is_(None), runs.c.id.not_in(_scheduled_run_ids()))
    return query


def _midnight(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).isoformat()


@dataclass(frozen=True)
class RunPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    workflows: list[str] = field(default_factory=list)


def run_page(engine: Engine, wanted: RunFilter, *, size: int = PAGE_SIZE) -> RunPage:
    """One page of the runs matching `wanted`, newest first, each with its items counted by status."""
    columns = [
        runs.c.id,
        runs.c.workflow,
        runs.c.status,
        runs.c.started_at,
        runs.c.finished_at,
        runs.c.duration,
        runs.c.resumed_from,
        runs.c.dry_run,
        runs.c.error,
        runs.c.pid,
        runs.c.host,
        runs.c.proc_started,
    ]
    with engine.connect() as connection:
        total = connection.execute(_filtered(select(func.count()).select_from(runs), wanted)).scalar_one()
        pages = max(1, -(-total // size))
        page = min(wanted.page, pages)
        query = _filtered(select(*columns), wanted).order_by(runs.c.started_at.desc(), runs.c.id)
        rows = [
            dict(row) for row in connection.execute(query.limit(size).offset((page - 1) * size)).mappings()
        ]
        ids = [row["id"] for row in rows]
        counts: dict[str, dict[str, int]] = {run_id: {} for run_id in ids}
        if ids:
            counted = select(items.c.run_id, items.c.status, func.count()).where(items.c.run_id.in_(ids))
            for run_id, status, count in connection.execute(counted.group_by(items.c.run_id, items.c.status)):
                counts[run_id][status] = count
            scheduled = set(connection.execute(_scheduled_run_ids().where(fires.c.run_id.in_(ids))).scalars())
        else:
            scheduled = set()
        workflows = list(
            connection.execute(select(runs.c.workflow).distinct().order_by(runs.c.workflow)).scalars()
        )
    for row in rows:
        row["items"] = counts[row["id"]]
        row["trigger"] = (
            Trigger.RETRY
            if row["resumed_from"]
            else Trigger.SCHEDULED
            if row["id"] in scheduled
            else Trigger.MANUAL
        )
    return RunPage(rows=rows, total=total, page=page, pages=pages, workflows=workflows)


def items_needing_attention(engine: Engine, *, key: str = "", limit: int = 200) -> list[dict[str, Any]]:
    """The failed and `to_check` items of every run (newest first), each with its history: every run of the same
    workflow that had an item of that key, with the item's status there."""
    query = (
        select(
            items.c.run_id,
            items.c.loop,
            items.c.key,
            items.c.status,
            items.c.error,
            items.c.finished_at,
            runs.c.workflow,
            runs.c.workflow_file,
            runs.c.started_at,
        )
        .join(runs, runs.c.id == items.c.run_id)
        .where(items.c.status.in_([str(status) for status in ATTENTION]))
        .order_by(runs.c.started_at.desc(), items.c.position)
        .limit(limit)
    )
    if key:
        query = query.where(items.c.key == key)
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(query).mappings()]
        keys = sorted({row["key"] for row in rows})
        history: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for start in range(0, len(keys), 500):
            past = (
                select(items.c.key, items.c.status, items.c.run_id, runs.c.workflow_file, runs.c.started_at)
                .join(runs, runs.c.id == items.c.run_id)
                .where(items.c.key.in_(keys[start : start + 500]))
                .order_by(runs.c.started_at)
            )
            for seen in connection.execute(past).mappings():
                history.setdefault((seen["workflow_file"], seen["key"]), []).append(dict(seen))
    for row in rows:
        row["history"] = history.get((row["workflow_file"], row["key"]), [])
    return rows


def run_items_for_export(engine: Engine, run_ids: list[str]) -> list[dict[str, Any]]:
    """The items of these runs, in order (for the exports)."""
    query = (
        select(items)
        .where(items.c.run_id.in_(run_ids))
        .order_by(items.c.run_id, items.c.loop, items.c.position)
    )
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def matching_runs(engine: Engine, wanted: RunFilter, *, limit: int) -> list[dict[str, Any]]:
    """Every run matching `wanted` (at most `limit`, newest first), for the exports."""
    query = _filtered(select(runs), wanted).order_by(runs.c.started_at.desc(), runs.c.id).limit(limit)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def run_folder_holding(engine: Engine, path: Path, root: Path) -> str | None:
    """The id of the run whose folder holds `path` (a resolved file inside the logs folder `root`), or None: the
    console serves a run's own files, never the rest of the logs folder (the run store's database, the operators'
    log, the console's secret)."""
    folders = [folder for folder in path.parents if folder.is_relative_to(root) and folder != root]
    if not folders:
        return None
    with engine.connect() as connection:
        found = connection.execute(
            select(runs.c.id).where(runs.c.run_dir.in_([str(folder) for folder in folders])).limit(1)
        ).first()
    return str(found[0]) if found else None
