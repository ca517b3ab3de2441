"""How the fleet stands, for `robo fleet status` and the console's fleet page: its workers (with the run and item
each is doing, from the item ledger), the depth of each job queue, the stalled jobs, and the distributed loops in
progress. Read only: nothing here changes the fleet.

A fleet needs PostgreSQL: on another store `fleet_status` raises `FleetNeedsPostgres`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from robots.kit import ConfigurationError, _
from runner.fleet.registry import FleetWorkers, WorkerRecord, WorkerState
from runner.fleet.worker import STALLED_AFTER_HEARTBEATS, WORKER_HEARTBEAT
from runner.record import HeldItem, ItemLeases, LoopTally, RunStore

if TYPE_CHECKING:
    import procrastinate

QUEUE_STATUSES = ("todo", "doing", "failed")  # the job statuses a queue's depth counts
DEFAULT_STALLED_AFTER = WORKER_HEARTBEAT * STALLED_AFTER_HEARTBEATS


class FleetNeedsPostgres(ConfigurationError):
    """The run store is not PostgreSQL: there is no fleet to show."""


def needs_postgres() -> FleetNeedsPostgres:
    return FleetNeedsPostgres(
        _("a fleet of workers needs a PostgreSQL run store, and this one is SQLite"),
        hint=_(
            "set ROBO_STORE_URL (or --store) to postgresql+psycopg://user@host/database, then run robo db upgrade"
        ),
    )


@dataclass(frozen=True)
class WorkerStatus:
    """A worker and what it holds now: the items it is doing (begun) and the ones it claimed, not begun yet."""

    worker: WorkerRecord
    doing: tuple[HeldItem, ...] = ()
    claimed: int = 0

    def as_json(self) -> dict[str, Any]:
        return self.worker.as_json() | {
            "doing": [
                {"run_id": item.run_id, "loop": item.loop, "key": item.key, "started_at": item.started_at}
                for item in self.doing
            ],
            "claimed": self.claimed,
        }


@dataclass(frozen=True)
class QueueDepth:
    """A job queue's jobs waiting (`todo`), being done (`doing`) and failed."""

    name: str
    todo: int
    doing: int
    failed: int


@dataclass(frozen=True)
class StalledJob:
    """A job being done by a worker whose Procrastinate heartbeat stopped: it is retried by the periodic task."""

    id: int
    queue: str
    task: str
    run_id: str | None
    loop: str | None


@dataclass(frozen=True)
class LoopProgress:
    """A distributed loop with items still open, and how its items stand."""

    run_id: str
    loop: str
    tally: LoopTally

    def as_json(self) -> dict[str, Any]:
        tally = self.tally
        return {
            "run_id": self.run_id,
            "loop": self.loop,
            "pending": tally.pending,
            "held": tally.held,
            "expired": tally.expired,
            "finished": tally.finished,
        }


@dataclass(frozen=True)
class FleetStatus:
    """The fleet at one moment."""

    workers: list[WorkerStatus] = field(default_factory=list)
    queues: list[QueueDepth] = field(default_factory=list)
    stalled: list[StalledJob] = field(default_factory=list)
    loops: list[LoopProgress] = field(default_factory=list)

    @property
    def silent(self) -> list[WorkerStatus]:
        return [status for status in self.workers if status.worker.state == WorkerState.SILENT]

    @property
    def alive(self) -> list[WorkerStatus]:
        return [status for status in self.workers if status.worker.state == WorkerState.ALIVE]

    @property
    def needs_attention(self) -> bool:
        """A worker went silent or a job is stalled: what a monitoring script wants to hear about."""
        return bool(self.silent or self.stalled)

    def as_json(self) -> dict[str, Any]:
        return {
            "workers": [status.as_json() for status in self.workers],
            "queues": [vars(queue) for queue in self.queues],
            "stalled_jobs": [vars(job) for job in self.stalled],
            "loops": [loop.as_json() for loop in self.loops],
            "needs_attention": self.needs_attention,
        }


def fleet_status(store: RunStore, *, stalled_after: float = DEFAULT_STALLED_AFTER) -> FleetStatus:
    """How the fleet of the run store stands now; `stalled_after`: the seconds of silence after which a worker's
    jobs are stalled (the workers' `worker_heartbeat` times three). `FleetNeedsPostgres` on SQLite; a
    `ConfigurationError` when the jobs' tables cannot be read (their password never said)."""
    if store.engine.dialect.name != "postgresql":
        raise needs_postgres()
    leases = ItemLeases(store)
    held: dict[str, list[HeldItem]] = {}
    for item in leases.held_items():
        held.setdefault(item.worker, []).append(item)
    workers = []
    for record in FleetWorkers(store).list():
        items = held.get(record.name, [])
        doing = tuple(item for item in items if item.started_at is not None)
        workers.append(WorkerStatus(record, doing, len(items) - len(doing)))
    loops = [LoopProgress(run_id, loop, leases.tally(run_id, loop)) for run_id, loop in leases.open_loops()]
    try:
        queues, stalled = asyncio.run(_jobs(store.url, stalled_after))
    except Exception as exc:
        raise _jobs_unreadable(store, exc) from None
    return FleetStatus(workers, queues, stalled, loops)


async def _jobs(url: str, stalled_after: float) -> tuple[list[QueueDepth], list[StalledJob]]:
    from runner.fleet.jobs import job_app

    app: procrastinate.App = job_app(url)
    async with app.open_async():
        manager = app.job_manager
        queues = [
            QueueDepth(row["name"], *(int(row[status]) for status in QUEUE_STATUSES))
            for row in await manager.list_queues_async()
        ]
        stalled = [
            StalledJob(
                id=job.id or 0,
                queue=job.queue,
                task=job.task_name,
                run_id=_text(job.task_kwargs.get("run_id")),
                loop=_text(job.task_kwargs.get("loop")),
            )
            for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after)
        ]
    return sorted(queues, key=lambda queue: queue.name), sorted(stalled, key=lambda job: job.id)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _jobs_unreadable(store: RunStore, exc: Exception) -> ConfigurationError:
    while exc.__cause__ is not None and isinstance(exc.__cause__, Exception):
        exc = exc.__cause__  # Procrastinate says "Database error."; the driver says which
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "procrastinate_" in reason and "does not exist" in reason:
        return ConfigurationError(
            _("the fleet's job tables are missing in {url}").format(url=store.shown_url),
            hint=_("run robo db upgrade once, with the same --store or ROBO_STORE_URL"),
        )
    return ConfigurationError(
        _("cannot read the fleet's jobs in {url}: {reason}").format(
            url=store.shown_url, reason=_masked(reason, store.url)
        ),
        hint=_("check that the database server is running and that --store or ROBO_STORE_URL names it"),
    )


def _masked(text: str, url: str) -> str:
    """`text` without the URL's password, should a driver's message repeat it."""
    from sqlalchemy.engine import make_url

    password = make_url(url).password
    return text.replace(str(password), "***") if password else text
