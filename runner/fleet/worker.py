"""A worker's share of a run: claim the run's items batch after batch, do each, renew the leases meanwhile, and
stop cleanly when asked.

What doing an item means is given by the lane a job opens (`OpenLane`) once it has claimed items: in a fleet run,
the engine's lane of the distributed loop (its `setup` run once: logged in once per job, not per item); anything in
the tests. Its `do_item` may record the item's effects through `ItemLeases.record_effect` (refused once the lease is lost); it
returns what the item became, which is recorded only while the lease is the worker's. A worker asked to stop
(SIGTERM: Procrastinate marks its jobs to abort) finishes the item it is doing, gives back the items of its batch
it has not begun, and returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.record import ItemLease, ItemLeases, LeaseLost

if TYPE_CHECKING:
    import procrastinate

log = logging.getLogger(__name__)
ITEMS_TASK = "robo.items"  # the Procrastinate task that carries a batch of a run's items to a worker
RETRY_STALLED_TASK = "robo.retry_stalled"  # the periodic task that gives the jobs of dead workers back
HOUSEKEEPING_QUEUE = "robo"  # the queue of the fleet's own periodic tasks: every worker listens to it
DEFAULT_LEASE = 300.0  # seconds a worker holds an item without renewing it
WORKER_HEARTBEAT = 10.0  # seconds between a worker's heartbeats in Procrastinate's table
STALLED_AFTER_HEARTBEATS = 3  # a worker silent for that many heartbeats is dead: its jobs are retried


@dataclass(frozen=True)
class ItemResult:
    """What an item became: a status of `runner.events.ENDED`, its outcome, its error."""

    status: str
    outcome: dict[str, Any] | None = None
    error: str | None = None
    duration: float | None = None


DoItem = Callable[[ItemLease], ItemResult]
Lane = Callable[[], AbstractContextManager[DoItem]]
"""Opens a worker's lane on a loop, once it holds items of it; its `DoItem` does them, one after the other."""
OpenLane = Callable[[str, str, str], AbstractContextManager[DoItem]]
"""A worker's lanes: given the run, the loop and the worker's name, open a lane on them."""


@dataclass
class WorkReport:
    """What a worker did with a run's items: the keys it finished, lost (taken over) and gave back."""

    finished: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)


class Heartbeat:
    """Renews a batch's leases every third of their length while the worker does its items, from a thread."""

    def __init__(self, leases: ItemLeases, held: Sequence[ItemLease], lease_seconds: float) -> None:
        self._leases = leases
        self._held = list(held)
        self._lease_seconds = lease_seconds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.lost: set[int] = set()  # ids of the items whose lease another worker took over
        self._thread = threading.Thread(target=self._beat, name="robo-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def done_with(self, lease: ItemLease) -> None:
        """The item is finished or given back: its lease is no longer renewed."""
        with self._lock:
            self._held = [held for held in self._held if held.id != lease.id]

    def _beat(self) -> None:
        while not self._stop.wait(self._lease_seconds / 3):
            with self._lock:
                held = list(self._held)
            for lease in self._leases.renew(held, self._lease_seconds):
                self.lost.add(lease.id)


def work_on_items(
    leases: ItemLeases,
    run_id: str,
    loop: str,
    worker: str,
    lane: Lane,
    *,
    batch: int = 10,
    lease_seconds: float = DEFAULT_LEASE,
    should_stop: Callable[[], bool] = lambda: False,
) -> WorkReport:
    """Do the run's loop items this worker can claim, batch after batch, until none is left or it must stop.

    The lane is opened when the first batch is claimed (a job that finds nothing to do logs in nowhere), and
    stays open for the next batches."""
    report = WorkReport()
    with ExitStack() as opened:
        do_item: DoItem | None = None
        while not should_stop():
            claimed = leases.claim(run_id, loop, worker, batch, lease_seconds)
            if not claimed:
                break
            with Heartbeat(leases, claimed, lease_seconds) as heartbeat:
                try:
                    if do_item is None:
                        do_item = opened.enter_context(lane())
                except BaseException:
                    _give_back(leases, claimed, report)
                    raise
                for index, lease in enumerate(claimed):
                    if should_stop():
                        _give_back(leases, claimed[index:], report)
                        return report
                    try:
                        _do_one(leases, lease, do_item, heartbeat, report)
                    except BaseException:
                        # The worker breaks down (a bug, Ctrl+C): the item it was doing is checked by whoever
                        # takes it next, the rest of the batch is free at once instead of when its leases expire.
                        _give_back(leases, claimed[index:], report)
                        raise
    return report


def _give_back(leases: ItemLeases, rest: Sequence[ItemLease], report: WorkReport) -> None:
    leases.release(rest)
    report.released.extend(item.key for item in rest)


def _do_one(
    leases: ItemLeases, lease: ItemLease, do_item: DoItem, heartbeat: Heartbeat, report: WorkReport
) -> None:
    try:
        if lease.id in heartbeat.lost:
            raise LeaseLost(lease.key)
        leases.begin(lease)
        result = do_item(lease)
        leases.finish(
            lease, result.status, outcome=result.outcome, error=result.error, duration=result.duration
        )
        report.finished.append(lease.key)
    except LeaseLost as lost:
        log.warning("%s", lost.message)  # what this worker did for it afterwards is not recorded
        report.lost.append(lease.key)
    finally:
        heartbeat.done_with(lease)


def fleet_app(
    url: str,
    open_lane: OpenLane,
    *,
    lease_seconds: float = DEFAULT_LEASE,
    worker_heartbeat: float = WORKER_HEARTBEAT,
    logs_dir: Path | None = None,
) -> procrastinate.App:
    """The Procrastinate app of the fleet: its `robo.items` task does a batch of a run's items through the leases;
    its periodic `robo.retry_stalled` task, every minute, puts back in the queue the jobs of workers whose heartbeat
    stopped (a machine switched off, a worker killed), which another worker then takes.

    The job's arguments are the run, the loop and the batch size, never a secret: each worker resolves its
    secrets itself. A job may run twice (a worker killed, the stalled job retried): the leases make sure no item
    is done twice.

    With `logs_dir`, the app also has the `robo.run` task (`runner.fleet.scheduled`): a schedule service on the
    fleet's database sends each due run as such a job, which the worker runs with its runs' records there.
    """

    from runner.fleet.jobs import job_app
    from runner.fleet.scheduled import register_run_task
    from runner.record import RunStore

    app = job_app(url)
    if logs_dir is not None:
        register_run_task(app, url, logs_dir)
    store = RunStore(url)  # one per worker process, shared by its jobs
    leases = ItemLeases(store)
    stalled_after = worker_heartbeat * STALLED_AFTER_HEARTBEATS

    @app.periodic(cron="* * * * *", periodic_id=RETRY_STALLED_TASK)
    @app.task(name=RETRY_STALLED_TASK, queue=HOUSEKEEPING_QUEUE, queueing_lock=RETRY_STALLED_TASK)
    async def retry_stalled(timestamp: int) -> None:
        await retry_stalled_jobs(app, stalled_after=stalled_after)

    @app.task(name=ITEMS_TASK, pass_context=True)
    def do_items(context: procrastinate.JobContext, run_id: str, loop: str, batch: int = 10) -> None:
        name = context.worker_name or "worker"
        work_on_items(
            leases,
            run_id,
            loop,
            name,
            lambda: open_lane(run_id, loop, name),
            batch=batch,
            lease_seconds=lease_seconds,
            should_stop=context.should_abort,
        )

    return app


def run_worker(
    url: str,
    open_lane: OpenLane,
    *,
    queues: Sequence[str] = (),
    concurrency: int = 1,
    name: str | None = None,
    lease_seconds: float = DEFAULT_LEASE,
    worker_heartbeat: float = WORKER_HEARTBEAT,
    logs_dir: Path | None = None,
) -> None:
    """Run a worker of the fleet until it is stopped (SIGTERM, SIGINT): the jobs of `queues` (all when empty).

    The worker registers in the fleet's registry (`FleetWorkers`) under `name`, or the host's name when none is
    given (`host-2`, … when a live worker has it already), beats there every `worker_heartbeat` seconds and is
    marked stopped when it exits; a name a live worker has is refused (`WorkerNameTaken`) before any job is taken.
    On a stop, its jobs are told at once (`shutdown_graceful_timeout=0` marks them to abort) and each finishes its
    current item, gives back the rest of its batch and returns; the worker then exits. With `logs_dir`, it also
    runs the scheduled runs a schedule service sends (`robo.run`), recorded there.
    """
    from runner.fleet.registry import FleetWorkers
    from runner.record import RunStore

    app = fleet_app(
        url, open_lane, lease_seconds=lease_seconds, worker_heartbeat=worker_heartbeat, logs_dir=logs_dir
    )
    with RunStore(url) as store:
        registry = FleetWorkers(store)
        # Registered last, just before Procrastinate handles SIGTERM: a worker stopped while it starts is not
        # left "alive" (it would turn silent after three heartbeats).
        with registry.present(
            name, queues=queues, concurrency=concurrency, heartbeat_seconds=worker_heartbeat
        ) as registration:
            app.run_worker(
                queues=[*queues, HOUSEKEEPING_QUEUE] if queues else None,
                concurrency=concurrency,
                name=registration.name,  # the items it does are recorded under this name too
                shutdown_graceful_timeout=0,
                update_heartbeat_interval=worker_heartbeat,
                stalled_worker_timeout=worker_heartbeat * STALLED_AFTER_HEARTBEATS,
                wait=True,
            )


async def retry_stalled_jobs(app: procrastinate.App, *, stalled_after: float) -> int:
    """Put back in their queue the jobs of workers silent for `stalled_after` seconds; how many.

    The items such a job had claimed come back by their leases (expired): the worker that takes the job again
    claims them flagged `reclaimed`, and checks them before doing them again.
    """
    import psycopg
    from procrastinate.exceptions import ConnectorException

    retried = 0
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        try:
            await app.job_manager.retry_job(job)
        except ConnectorException as exc:
            # Procrastinate refuses a job no longer running: another worker's retry or its own end came first.
            if not isinstance(exc.__cause__, psycopg.errors.RaiseException):
                raise
            continue
        retried += 1
    return retried
