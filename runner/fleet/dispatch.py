"""The parent run's side of a distributed loop: its items go to the ledger, jobs carry them to the workers, and the
parent sees them through to the end whatever happens to the workers.

A job (`robo.items`) does batches of the loop's items until it can claim none; several jobs run at once, one per
lane. A job can end while items are still held by a worker that then dies: their leases expire after the job
that could have taken them has ended, and no job is left to do them. The parent, which waits for the loop anyway,
watches the items (`keep_going`, every few seconds): when some are claimable and no job of the loop could take
them, it sends one more. Procrastinate's queueing lock keeps that to one waiting job per loop, however often the
parent (or a second parent after a crash) asks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job

from runner.fleet.jobs import libpq_url
from runner.fleet.worker import ITEMS_TASK
from runner.record import ItemLeases, LoopTally

LIVE_JOB_STATUSES = ("todo", "doing")


class LoopDispatch:
    """Sends a run's loop to the workers of `queue` in `lanes` jobs of `batch` items, and keeps it going."""

    def __init__(
        self, url: str, leases: ItemLeases, run_id: str, loop: str, *, queue: str, lanes: int, batch: int
    ) -> None:
        self.run_id = run_id
        self.loop = loop
        self.queue = queue
        self.lanes = max(1, lanes)
        self.batch = max(1, batch)
        self._leases = leases
        self._app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=libpq_url(url)))
        self._app.open()

    def close(self) -> None:
        self._app.close()

    def __enter__(self) -> LoopDispatch:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def start(self, entries: Iterable[tuple[str, int, Any]]) -> int:
        """Write the loop's items (key, position, payload) to the ledger and send one job per lane; how many
        items were new (a resumed run keeps what its workers did, and has its failed items done again)."""
        added = self._leases.enqueue(self.run_id, self.loop, entries)
        self._leases.reopen_failed(self.run_id, self.loop)
        for lane in range(1, self.lanes + 1):
            self._send(f"lane-{lane}")
        return added

    def keep_going(self) -> LoopTally:
        """One more job when items are claimable and no job of the loop is left to claim them (its worker died
        after its job ended, or the jobs were lost); how the items stand."""
        tally = self._leases.tally(self.run_id, self.loop)
        if tally.expired or (tally.pending and not self.live_jobs()):
            self._send("again")
        return tally

    def live_jobs(self) -> int:
        """The loop's jobs waiting for a worker or being done."""
        return len(self._jobs())

    def stop(self) -> None:
        """The run is stopped: its waiting jobs are cancelled, and the workers doing the others finish their
        current item, give back the rest and end the job (the run, resumed, sends new ones)."""
        for job in self._jobs():
            if job.id is not None:
                self._app.job_manager.cancel_job_by_id(job.id, abort=True)

    def _jobs(self) -> list[Job]:
        return [
            job
            for status in LIVE_JOB_STATUSES
            for job in self._app.job_manager.list_jobs(task=ITEMS_TASK, status=status)
            if job.task_kwargs.get("run_id") == self.run_id and job.task_kwargs.get("loop") == self.loop
        ]

    def _send(self, lane: str) -> None:
        task = self._app.configure_task(
            ITEMS_TASK, queue=self.queue, queueing_lock=f"{ITEMS_TASK}:{self.run_id}:{self.loop}:{lane}"
        )
        try:
            task.defer(run_id=self.run_id, loop=self.loop, batch=self.batch)
        except AlreadyEnqueued:
            pass  # that job is waiting for a worker already
