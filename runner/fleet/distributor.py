"""A run's loops with `distribute:` done by a fleet's workers: the run shares the loop out, waits, and carries on.

The run writes what the workers need (`SharedLoops`: the workflow's text, the loop, what its items see), its items
to the ledger, and one job per lane (`LoopDispatch`); then it waits, saying each item's end as the workers record
it (the console, the audit log and the report of the run show which worker did it), sending one more job when
items are left without one, and stopping the workers' jobs when it is itself stopped. When the last item is
finished, the loop's outcomes are read from the ledger, in the loop's order, and the run goes on.

Nothing secret travels: the context the items see leaves out the secrets (each worker resolves them itself) and
any saved value that holds one.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any

from robots.kit import ApplicationError, BusinessError, ConfigurationError, RoboError, WorkflowBug, _
from runner.engine import DistributedLoop, LoopHost, RunInterrupted, StepFailure
from runner.events import ItemFinished, ItemStatus, LogMessage
from runner.fleet.dispatch import LoopDispatch
from runner.fleet.job_schema import JOBS_TABLE
from runner.language.templating import SECRET_WATCH
from runner.record import ItemLeases, NotSendable, RunStore, SharedLoop, SharedLoops, to_payload
from runner.run import StartedRun

LATE_COMMIT = dt.timedelta(seconds=30)  # how late an item's finish may be committed after its moment
WAIT_STEP = 0.5  # seconds between two looks at the ledger while the workers do the items
NO_WORKER_NOTICE = 60.0  # seconds between two warnings that no worker is alive while items wait
LEFT_OUT = frozenset({"secrets", "env", SECRET_WATCH})  # never sent: each worker has its own
COUNTERS = {
    ItemStatus.DONE: "items_done",
    ItemStatus.SKIPPED: "items_skipped",
    ItemStatus.TO_CHECK: "items_to_check",
}


class FleetDistributor:
    """Sends a run's `distribute:` loops (every top-level loop with `every_loop`) to the fleet's workers."""

    def __init__(
        self,
        run: StartedRun,
        *,
        every_loop: bool = False,
        batch: int = 10,
        alive_workers: Callable[[str], int] | None = None,
    ) -> None:
        self.run = run
        self.every_loop = every_loop
        self.batch = batch
        self._alive_workers = alive_workers or (lambda queue: alive_workers_of(run.store_url, queue))

    def run_loop(self, loop: DistributedLoop, host: LoopHost) -> list[dict[str, Any] | None] | None:
        step = loop.step
        if not (step.distribute or self.every_loop):
            return None
        if not self._alive_workers(step.queue()):
            if (
                not self.every_loop
            ):  # `distribute:` where no fleet works: the loop is done here, as without one
                host.emit(
                    LogMessage(
                        run_id=host.run_id,
                        level="warning",
                        message=_(
                            "{loop}: no worker of the fleet is alive: the loop runs on this machine"
                        ).format(loop=step.label),
                    )
                )
                return None
            host.emit(
                LogMessage(
                    run_id=host.run_id,
                    level="warning",
                    message=_(
                        "{loop}: no worker of the fleet is alive: its items are waiting in the queue '{queue}'"
                        " until one starts (robo worker)"
                    ).format(loop=step.label, queue=step.queue()),
                )
            )
        try:
            entries = [
                (key, index, to_payload(value, f"{step.as_}"))
                for index, (key, value) in enumerate(zip(loop.keys, loop.items, strict=True))
            ]
        except NotSendable as exc:
            raise StepFailure(step, exc) from None
        context = self._context(loop, host)
        with RunStore(self.run.store_url) as store:
            leases = ItemLeases(store)
            SharedLoops(store).share(
                SharedLoop(
                    run_id=host.run_id,
                    loop=loop.loop,
                    workflow_file=self.run.workflow_file,
                    workflow_dir=self.run.workflow_dir,
                    source=self.run.source,
                    total=len(entries),
                    queue=step.queue(),
                    context=context,
                )
            )
            # Done in an earlier session of the run (resumed): said as already done, not counted again.
            done_before = {
                row["key"]
                for row in leases.finished_since(host.run_id, loop.loop, None)
                if row["status"] == ItemStatus.DONE
            }
            with LoopDispatch(
                self.run.store_url,
                leases,
                host.run_id,
                loop.loop,
                queue=step.queue(),
                lanes=loop.lanes,
                batch=self.batch,
            ) as dispatch:
                dispatch.start(entries)
                host.emit(
                    LogMessage(
                        run_id=host.run_id,
                        level="info",
                        message=_(
                            "{loop}: {count} items sent to the fleet's workers (queue '{queue}', {lanes} at once)"
                        ).format(loop=step.label, count=len(entries), queue=step.queue(), lanes=loop.lanes),
                    )
                )
                self._wait(loop, host, leases, SharedLoops(store), dispatch, done_before)
            rows = {row["key"]: row for row in store.run_items(host.run_id) if row["loop"] == loop.loop}
        return [_outcome(rows.get(store.as_stored(key))) for key in loop.keys]

    def _wait(
        self,
        loop: DistributedLoop,
        host: LoopHost,
        leases: ItemLeases,
        shared_loops: SharedLoops,
        dispatch: LoopDispatch,
        done_before: set[str],
    ) -> None:
        said: set[str] = set()
        since: dt.datetime | None = None
        last_notice = time.monotonic()
        while True:
            if host.stop_event.is_set():
                dispatch.stop()
                raise RunInterrupted()
            tally = dispatch.keep_going()
            for row in leases.finished_since(host.run_id, loop.loop, since):
                moment = dt.datetime.fromisoformat(row["finished_at"]) if row["finished_at"] else None
                if moment is not None and (since is None or moment - LATE_COMMIT > since):
                    since = moment - LATE_COMMIT
                if row["key"] not in said:
                    said.add(row["key"])
                    self._item_finished(loop, host, row, before=row["key"] in done_before)
            stopped = shared_loops.stopped(host.run_id, loop.loop)
            if stopped is not None:
                dispatch.stop()
                raise StepFailure(loop.step, stopped_error(stopped))
            if tally.open == 0:
                return
            if tally.held == 0 and time.monotonic() - last_notice > NO_WORKER_NOTICE:
                last_notice = time.monotonic()
                if not self._alive_workers(loop.step.queue()):
                    host.emit(
                        LogMessage(
                            run_id=host.run_id,
                            level="warning",
                            message=_("{loop}: {count} items wait for a worker, and none is alive").format(
                                loop=loop.step.label, count=tally.open
                            ),
                        )
                    )
            host.stop_event.wait(WAIT_STEP)

    def _item_finished(
        self, loop: DistributedLoop, host: LoopHost, row: Mapping[str, Any], *, before: bool
    ) -> None:
        status = str(ItemStatus.SKIPPED if before else row["status"])
        host.counters.add(COUNTERS.get(ItemStatus(status), "items_failed"))
        if status not in (ItemStatus.DONE, ItemStatus.SKIPPED):
            message = row["error"] or status
            with host.counters._lock:
                host.item_failures.append(StepFailure(loop.step, BusinessError(message), row["key"]))
        host.emit(
            ItemFinished(
                run_id=host.run_id,
                loop=loop.loop,
                key=row["key"],
                index=int(row["position"]),
                status=status,
                duration=float(row["duration"] or 0.0),
                error=row["error"],
                outcome=row["outcome"],
                worker=row["worker"] or "?",
            )
        )

    def _context(self, loop: DistributedLoop, host: LoopHost) -> dict[str, Any]:
        """What the loop's items see besides themselves, as the workers get it: never a secret."""
        watch = loop.scope.get(SECRET_WATCH)
        context: dict[str, Any] = {}
        for name in list(loop.scope):
            if name in LEFT_OUT or name.startswith("_") or name == loop.step.items_name():
                continue  # the items themselves travel one by one, in the ledger
            value = loop.scope[name]
            if watch is not None and watch.data(value) != value:
                self._left_out(host, loop, name, _("it holds a secret"))
                continue
            try:
                context[name] = to_payload(value, name)
            except NotSendable as exc:
                self._left_out(host, loop, name, exc.message)
        return context

    def _left_out(self, host: LoopHost, loop: DistributedLoop, name: str, why: str) -> None:
        host.emit(
            LogMessage(
                run_id=host.run_id,
                level="warning",
                message=_(
                    "{loop}: '{name}' is not sent to the fleet's workers ({why}): its items cannot use it"
                ).format(loop=loop.step.label, name=name, why=why),
            )
        )


def _outcome(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    outcome = dict(row["outcome"] or {})
    outcome.setdefault("key", row["key"])
    outcome.setdefault("status", str(row["status"]))
    outcome.setdefault("error", row["error"])
    return outcome


def alive_workers_of(url: str, queue: str) -> int:
    """The fleet's workers alive now (`FleetWorkers`) that do the jobs of `queue`."""
    from runner.fleet.registry import FleetWorkers, WorkerState

    with RunStore(url) as store:
        return sum(
            1
            for worker in FleetWorkers(store).list()
            if worker.state == WorkerState.ALIVE and (not worker.queues or queue in worker.queues)
        )


def stopped_error(reason: Mapping[str, Any]) -> RoboError:
    """The failure a worker met that stopped a loop (`SharedLoops.stop`), as the run reports it."""
    kinds: dict[str, type[RoboError]] = {
        "business": BusinessError,
        "workflow": WorkflowBug,
        "configuration": ConfigurationError,
    }
    hint = reason.get("hint")
    message = _("worker {worker}: {error}").format(
        worker=reason.get("worker") or "?", error=reason.get("message") or "?"
    )
    return kinds.get(str(reason.get("kind")), ApplicationError)(message, hint=str(hint) if hint else None)


def fleet_distributor(*, every_loop: bool = False) -> Callable[[StartedRun], FleetDistributor | None]:
    """What `robo run` gives a run (`RunOptions.distributor`): on a PostgreSQL run store whose fleet tables exist
    (`robo db upgrade`), its `distribute:` loops (every top-level loop with `every_loop`, `robo run --fleet`) go to
    the fleet's workers; elsewhere there is no fleet and every loop runs on this machine."""

    def distributor(run: StartedRun) -> FleetDistributor | None:
        if not has_fleet(run.store_url):
            return None
        return FleetDistributor(run, every_loop=every_loop)

    return distributor


def has_fleet(url: str) -> bool:
    """Whether the run store is a PostgreSQL database with the fleet's job tables (`robo db upgrade`)."""
    if not url.startswith("postgresql"):
        return False
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        return inspect(engine).has_table(JOBS_TABLE)
    finally:
        engine.dispose()
