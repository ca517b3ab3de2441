"""Work items: what each `for_each` item of a run became, so a resumed run does only what is not done.

Every item has a key (the loop's `key` expression, or a hash of the item) and a status in the run store:
`in_progress` (committed before its first step), then `done`, `failed_business`, `failed_application` or
`skipped` (committed before the next item starts). A resumed run asks the ledger about each item: a done item
is skipped (its saved outcome is reused), an item found in progress — the one a crash interrupted — is first
checked with the loop's `already_done` steps, so that it is neither lost nor entered twice.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from runner.store import RunRecord, RunStore

UNFINISHED = frozenset({"in_progress", "failed_application"})
CREATE_TIME_TOLERANCE = 1.0  # seconds: a create time is computed from clock ticks since boot


@dataclass(frozen=True)
class PreviousItem:
    status: str
    outcome: dict[str, Any] | None


class ItemGate:
    """What an earlier attempt of the run did with an item; a fresh run knows nothing."""

    def previous(self, loop: str, key: str) -> PreviousItem | None:
        return None


class WorkItemLedger(ItemGate):
    """The items a run recorded so far, read once when the run is resumed."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self._items = {
            (row["loop"], row["key"]): PreviousItem(row["status"], row.get("outcome"))
            for row in store.run_items(run_id)
        }

    def previous(self, loop: str, key: str) -> PreviousItem | None:
        return self._items.get((loop, key))

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for item in self._items.values():
            totals[item.status] = totals.get(item.status, 0) + 1
        return totals


def process_alive(pid: int | None, host: str | None, created: float | None = None) -> bool | None:
    """Whether a run's process still exists (None when it ran on another machine and cannot be told).

    `created` is the process's create time as it recorded it: a process with the same pid but another create
    time is not the run's (the pid was given to a new process after the run's died).
    """
    import psutil

    if not pid:
        return False
    if host and host != socket.gethostname():
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return created is None or abs(process.create_time() - created) < CREATE_TIME_TOLERANCE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # it exists but belongs to someone else: we cannot look further


def process_create_time(pid: int | None = None) -> float | None:
    """The create time of a process (this one by default), as `process_alive` compares it."""
    import psutil

    try:
        return psutil.Process(pid or os.getpid()).create_time()
    except psutil.Error:
        return None


def effective_status(record: RunRecord) -> str:
    """A run recorded as running whose process is gone crashed (killed, machine stopped, pid reused)."""
    if record.status == "running" and process_alive(record.pid, record.host, record.proc_started) is False:
        return "crashed"
    return record.status
