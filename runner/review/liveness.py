"""Whether the process that runs a run is still alive: a run the store has as running whose process is gone crashed.

The run store gives back what it stores; the layers that report a run's status (`robo runs`, the report, a run
looking for an unfinished one to resume or for a free slot) ask here what the status really is.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from typing import TYPE_CHECKING

from runner.events import RunStatus

if TYPE_CHECKING:
    from runner.record import RunRecord, RunStore


CREATE_TIME_TOLERANCE = 1.0  # seconds: a create time is computed from clock ticks since boot


def process_alive(
    pid: int | None, host: str | None, created: float | None = None, *, started_by: float | None = None
) -> bool | None:
    """Whether a run's process still exists (None when it ran on another machine and cannot be told).

    `created` is the process's create time as it recorded it: a process with the same pid but another create
    time is not the run's (the pid was given to a new process after the run's died). Where only the moment the
    process was started is known (`started_by`), a process created after it is not the one.
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
        if started_by is not None and process.create_time() > started_by + CREATE_TIME_TOLERANCE:
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
    if (
        record.status == RunStatus.RUNNING
        and process_alive(record.pid, record.host, record.proc_started) is False
    ):
        return RunStatus.CRASHED
    return record.status


def still_running(record: RunRecord) -> bool:
    """Whether a run holds its place: recorded running by a process that is still alive (or cannot be told)."""
    return effective_status(record) == RunStatus.RUNNING


def reported(record: RunRecord) -> RunRecord:
    """The run as it is reported: its status the effective one."""
    status = effective_status(record)
    return record if status == record.status else dataclasses.replace(record, status=status)


def reported_runs(
    store: RunStore,
    *,
    workflow: str | None = None,
    status: str | None = None,
    since: str | None = None,
    limit: int = 50,
) -> list[RunRecord]:
    """The runs `robo runs list` shows, newest first, `status` being the one reported (a dead `running` is `crashed`)."""
    stored: tuple[str, ...] = (status,) if status else ()
    if status in (RunStatus.RUNNING, RunStatus.CRASHED):
        stored = (str(status), str(RunStatus.RUNNING))  # a run whose process died is still stored running
    records = [
        reported(record)
        for record in store.list_runs(workflow=workflow, statuses=stored, since=since, limit=limit)
    ]
    return [record for record in records if record.status == status] if status else records
