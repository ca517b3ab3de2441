"""A run's progress while it goes: items done, failed, to check and left, the items in progress, the failures as
they come. Read from the run store (items are committed as each finishes) and, for how many items each loop has,
from the `loop_started` records of the run's audit log, read incrementally (only what was appended since the
last look), so that polling a 100 000-item run every two seconds stays cheap.

The run's page shows it when rendered (it works without JavaScript: a reload shows the same), and
`static/live.js` refreshes it from `/runs/{id}/live.json` every `POLL_SECONDS` while the run is running.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from robots.kit import format_number, printable
from runner.console.texts import moment
from runner.events import FAILED, ItemStatus, RunStatus, run_status_text
from runner.record import AUDIT_LOG_NAME, RunRecord, items

POLL_SECONDS = 2
MAX_CURRENT = 20
MAX_FAILURES = 50
MAX_ERROR_CHARS = 300
MAX_FOLLOWED_LOGS = 256  # runs whose loop totals are remembered between polls
LOOP_STARTED = b'"loop_started"'  # a cheap test before parsing: few records hold it


@dataclass
class LoopTotals:
    """How many items each loop of one audit log has, as far as the log was read (`offset`)."""

    offset: int = 0
    identity: tuple[int, int] = (0, 0)  # the file's (device, inode): a log replaced is read again
    totals: dict[str, int] = field(default_factory=dict)


class LoopTotalsReader:
    """The loop totals of runs' audit logs, reading each log only from where the last look stopped."""

    def __init__(self) -> None:
        self._followed: OrderedDict[Path, LoopTotals] = OrderedDict()
        self._lock = threading.Lock()

    def totals(self, audit_log: Path) -> dict[str, int]:
        """Each loop's number of items, by loop id (the latest `loop_started` of a loop counts: a resumed
        session starts its loops again); empty when the log is missing or has no loop."""
        with self._lock:
            known = self._followed.pop(audit_log, None) or LoopTotals()
            try:
                _read_new_records(audit_log, known)
            except OSError:
                return dict(known.totals)
            self._followed[audit_log] = known
            while len(self._followed) > MAX_FOLLOWED_LOGS:
                self._followed.popitem(last=False)
            return dict(known.totals)


def _read_new_records(path: Path, known: LoopTotals) -> None:
    with path.open("rb") as file:
        status = path.stat()
        identity = (status.st_dev, status.st_ino)
        if identity != known.identity or status.st_size < known.offset:
            known.offset, known.identity, known.totals = 0, identity, {}
        file.seek(known.offset)
        for line in file:
            if not line.endswith(b"\n"):
                break  # a record being written: read it whole next time
            known.offset += len(line)
            if LOOP_STARTED not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the audit verdict on the page says what is wrong with the log
            if isinstance(record, dict) and record.get("event") == "loop_started":
                loop, total = record.get("loop"), record.get("total")
                if isinstance(loop, str) and isinstance(total, int) and total >= 0:
                    known.totals[loop] = total


@dataclass
class LiveProgress:
    """What the run's page shows of its progress, and what `live.json` sends (texts already in the reader's
    language, numbers already formatted: the script only puts them in the page, as text)."""

    running: bool
    status: str
    status_text: str
    done: int
    failed: int
    to_check: int
    in_progress: int
    total: int | None
    left: int | None
    current: list[dict[str, str]]
    failures: list[dict[str, str]]
    failures_total: int

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.to_check

    def as_json(self) -> dict[str, Any]:
        shown = asdict(self)
        shown["numbers"] = {
            name: format_number(value) if value is not None else "?"
            for name, value in (
                ("done", self.done),
                ("failed", self.failed),
                ("to_check", self.to_check),
                ("left", self.left),
                ("finished", self.finished),
            )
        }
        shown["finished"] = self.finished
        shown["poll_seconds"] = POLL_SECONDS
        return shown


def live_progress(engine: Engine, record: RunRecord, totals: dict[str, int]) -> LiveProgress:
    """The progress of the run of `record` (its status as reported: a dead `running` run is `crashed`)."""
    with engine.connect() as connection:
        counted = select(items.c.status, func.count()).where(items.c.run_id == record.id)
        by_status: dict[str, int] = {
            row.status: int(row[1]) for row in connection.execute(counted.group_by(items.c.status))
        }
        current = connection.execute(
            select(items.c.loop, items.c.key, items.c.started_at)
            .where(items.c.run_id == record.id, items.c.status == ItemStatus.IN_PROGRESS)
            .order_by(items.c.started_at.desc(), items.c.id.desc())
            .limit(MAX_CURRENT)
        ).all()
        failures = connection.execute(
            select(items.c.loop, items.c.key, items.c.status, items.c.error, items.c.finished_at)
            .where(items.c.run_id == record.id, items.c.status.in_(sorted(FAILED)))
            .order_by(items.c.finished_at.desc(), items.c.id.desc())
            .limit(MAX_FAILURES)
        ).all()
    done = by_status.get(ItemStatus.DONE, 0) + by_status.get(ItemStatus.SKIPPED, 0)
    failed = sum(count for status, count in by_status.items() if status in FAILED)
    to_check = by_status.get(ItemStatus.TO_CHECK, 0)
    running = record.status == RunStatus.RUNNING
    total = sum(totals.values()) if totals else None
    left = max(total - (done + failed + to_check), 0) if total is not None else None
    return LiveProgress(
        running=running,
        status=record.status,
        status_text=run_status_text(record.status),
        done=done,
        failed=failed,
        to_check=to_check,
        in_progress=by_status.get(ItemStatus.IN_PROGRESS, 0) if running else 0,
        total=total,
        left=left,
        current=[
            {"loop": row.loop, "key": printable(row.key, lines=False), "since": moment(row.started_at)}
            for row in (current if running else [])
        ],
        failures=[
            {
                "loop": row.loop,
                "key": printable(row.key, lines=False),
                "error": _cut(printable(row.error or "", lines=False)),
                "at": moment(row.finished_at),
            }
            for row in failures
        ],
        failures_total=failed,
    )


def audit_log_of(record: RunRecord) -> Path | None:
    return Path(record.run_dir) / AUDIT_LOG_NAME if record.run_dir else None


def _cut(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
