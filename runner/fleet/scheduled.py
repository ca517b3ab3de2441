"""A schedule service whose run store is a fleet's: each due run goes to the fleet's workers as a job.

`robo schedule serve` on a fleet's database (`has_fleet`) gives its service a `FleetLauncher`: a fire is claimed in
the schedule database as always (one fire, one claim, whichever service is first), then sent as one `robo.run`
job, on the queue of the workers that can run the workflow (`desktop` when it uses the desktop robot, `browser`
when it uses the browser, else the fleet's own queue `robo`, which every worker does). Procrastinate's queueing
lock, one per fire, keeps a fire from ever waiting twice in the queue.

The job carries the workflow file's path, the schedule's inputs, the fire's id and due time: never a secret nor
the schedule's notification targets (a webhook's address may hold a token): the worker reads them in the workflow
file, and resolves the workflow's secrets itself. The worker that takes the job (`run_fire`) makes the fire its
own, runs the workflow with `runner.run.run_workflow` (in its logs folder, on the same store, its `distribute:`
loops shared out to the fleet too), extends the fire's lock while it runs, and records the fire's outcome and
sends its notifications as the local launcher does.

A worker asked to stop (SIGTERM) stops the run after its current step (recorded interrupted) and sends the fire's
job again; the worker that takes it resumes the run. A worker killed mid-run leaves its job `doing`: the fleet's stalled-job retry puts it back in the queue, and the
worker that takes it again resumes the unfinished run of the same workflow and inputs (`resume_unfinished`), not a
new one. While the job waits or is done, every service extends the fire's lock (its run holds the workflow's
place); a fire whose job ended without recording its run (the job failed, or was cancelled) is recorded lost.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from procrastinate.exceptions import AlreadyEnqueued

from robots.kit import _
from runner.events import RunStatus
from runner.fleet.jobs import libpq_url
from runner.schedule import (
    ACTIVE_FIRES,
    LOCK_TTL,
    REFRESH,
    FireJob,
    FireLauncher,
    FireOutcome,
    FireStatus,
    ScheduleDatabase,
    fire_key,
    fire_label,
    load_schedules,
    parse_fire_key,
)

if TYPE_CHECKING:
    import procrastinate

log = logging.getLogger("robo.schedule")

RUN_TASK = "robo.run"  # the Procrastinate task that carries a scheduled run to a worker
HOUSEKEEPING_QUEUE = "robo"  # as runner.fleet.worker's: the queue every worker does
LIVE_JOB_STATUSES = ("todo", "doing")
STOP_POLL = 0.5  # seconds between two looks at whether the worker is asked to stop, during a run
WORKER_OWNER = "worker:"  # a fire's owner while a fleet's worker runs it: `worker:<its name>`


def workflow_queue(workflow_file: str | Path) -> str:
    """The queue of the workers that can run a workflow: `desktop` when it uses the desktop robot (a machine
    with a screen), `browser` when it uses the browser (one with Chromium), else `robo` (any worker)."""
    from runner.language import validate_file
    from runner.language.steps import ActionStep

    workflow = validate_file(workflow_file).workflow
    if workflow is None:  # refused by validation: any worker records it as invalid
        return HOUSEKEEPING_QUEUE
    robots = {step.robot for step in workflow.walk() if isinstance(step, ActionStep)}
    if "desktop" in robots:
        return "desktop"
    return "browser" if "browser" in robots else HOUSEKEEPING_QUEUE


def fire_lock(fire_id: int) -> str:
    """Procrastinate's queueing lock of a fire's job: one job per fire waits in the queue, at most."""
    return f"{RUN_TASK}:fire-{fire_id}"


class FleetLauncher(FireLauncher):
    """The schedule service's launcher on a fleet's database: claims each fire, then sends its run to the fleet's
    workers instead of starting it here."""

    @functools.cached_property
    def _app(self) -> procrastinate.App:
        """The fleet's job queue, opened at the first fire sent to it."""
        import procrastinate

        app = procrastinate.App(
            connector=procrastinate.SyncPsycopgConnector(conninfo=libpq_url(self.store_url))
        )
        app.open()
        return app

    def close(self) -> None:
        if "_app" in self.__dict__:
            self._app.close()

    def _run(self, job: FireJob, due: dt.datetime, fire_id: int, kind: str, label: str) -> FireOutcome | None:
        if self.closing.is_set():
            return super()._run(job, due, fire_id, kind, label)  # records it not started
        queue = workflow_queue(job.workflow_file)
        try:
            task = self._app.configure_task(RUN_TASK, queue=queue, queueing_lock=fire_lock(fire_id))
            job_id = task.defer(**job_payload(job, due, fire_id, kind))
        except AlreadyEnqueued:  # the fire's job waits already: never twice
            log.warning("%s", _("{fire}: its job is already in the queue").format(fire=label))
            return None
        except Exception as exc:
            outcome = FireOutcome(
                fire_id,
                FireStatus.LOST,
                None,
                first_error=_("the run could not be sent to the fleet: {error}").format(error=exc),
            )
            self.finish(job, due, outcome, label)
            return outcome
        self.db.fire_queued(fire_id, detail=_("job {id}, queue {queue}").format(id=job_id, queue=queue))
        log.info(
            "%s",
            _("{fire}: sent to the fleet (job {id}, queue {queue}, {delay} s after the due time)").format(
                fire=label, id=job_id, queue=queue, delay=round(time.time() - due.timestamp(), 3)
            ),
        )
        try:
            alive = workers_of(self.store_url, queue)
        except Exception:  # the registry is a notice: the job waits for a worker anyway
            alive = 1
        if not alive:
            log.warning(
                "%s",
                _(
                    "{fire}: no worker of the fleet doing the queue '{queue}' is alive: the run waits until one"
                    " starts (robo worker)"
                ).format(fire=label, queue=queue),
            )
        return None

    def reap(self, find_job: Callable[[str], FireJob | None]) -> None:
        """Keep the lock of every fire whose job waits or is being done (its run holds the workflow's place,
        whichever worker runs it); record lost a fire whose job ended without its run's outcome."""
        live = self.live_fires()
        now = time.time()
        for row in self.db.running_fires():
            if row["id"] in live:
                self.db.extend_fire(row["id"], LOCK_TTL)
                continue
            if row["expires_at"] > now:
                continue  # claimed a moment ago, or its worker extends its lock
            if not self.db.adopt_orphan(row["id"], self.owner, LOCK_TTL):
                continue  # another service records it
            job = find_job(row["job_id"]) or FireJob(row["job_id"], row["job_id"], "")
            due = parse_fire_key(row["fire_time"])
            outcome = FireOutcome(
                row["id"],
                FireStatus.LOST,
                None,
                run_id=row["run_id"],
                first_error=_("its job in the fleet ended without recording the run's outcome"),
            )
            self.finish(job, due, outcome, fire_label(job, due))

    def live_fires(self) -> set[int]:
        """The fires whose job waits in a queue or is being done by a worker."""
        fires = set()
        for status in LIVE_JOB_STATUSES:
            for job in self._app.job_manager.list_jobs(task=RUN_TASK, status=status):
                fire_id = job.task_kwargs.get("fire_id")
                if isinstance(fire_id, int):
                    fires.add(fire_id)
        return fires


def workers_of(url: str, queue: str) -> int:
    """The fleet's workers alive now that take the jobs of `queue` (every worker takes those of `robo`)."""
    from runner.fleet.registry import FleetWorkers, WorkerState
    from runner.record import RunStore

    with RunStore(url) as store:
        return sum(
            1
            for worker in FleetWorkers(store).list()
            if worker.state == WorkerState.ALIVE
            and (queue == HOUSEKEEPING_QUEUE or not worker.queues or queue in worker.queues)
        )


def job_payload(job: FireJob, due: dt.datetime, fire_id: int, kind: str) -> dict[str, Any]:
    """What a fire's job carries: the workflow, the schedule's inputs, the fire. No secret, no notify targets."""
    return {
        "fire_id": fire_id,
        "schedule": job.job_id,
        "workflow": job.workflow,
        "workflow_file": job.workflow_file,
        "inputs": dict(job.inputs),
        "timezone": job.timezone,
        "due": fire_key(due),
        "kind": kind,
    }


def register_run_task(app: procrastinate.App, url: str, logs_dir: Path) -> None:
    """The `robo.run` task, in a worker's app: runs the scheduled run its job carries (`run_fire`)."""

    @app.task(name=RUN_TASK, pass_context=True)
    def run_scheduled(
        context: procrastinate.JobContext,
        fire_id: int,
        schedule: str,
        workflow: str,
        workflow_file: str,
        inputs: dict[str, Any],
        timezone: str,
        due: str,
        kind: str = "scheduled",
    ) -> None:
        job = FireJob(
            schedule, workflow, workflow_file, dict(inputs), timezone, notify_of(schedule, workflow_file)
        )
        outcome = run_fire(
            url,
            logs_dir,
            context.worker_name or "worker",
            fire_id,
            job,
            parse_fire_key(due),
            should_stop=context.should_abort,
        )
        if outcome is STOPPED and context.job.task_kwargs:  # the worker stops: the job goes back to the queue
            again = context.app.configure_task(
                RUN_TASK, queue=context.job.queue, queueing_lock=fire_lock(fire_id)
            )
            try:
                again.defer(**context.job.task_kwargs)
            except AlreadyEnqueued:
                pass


def notify_of(schedule: str, workflow_file: str) -> dict[str, Any] | None:
    """The schedule's `notify:` section, read in its workflow file (the job does not carry it)."""
    try:
        loaded = load_schedules(Path(workflow_file))
    except Exception:
        return None
    return next((spec.notify for spec in loaded.specs if spec.job_id == schedule), None)


STOPPED = FireOutcome(0, "stopped", None)
"""What `run_fire` returns when the worker was asked to stop: the run stopped after its current step, recorded
interrupted; the fire is still running, its job is to be sent again so that a worker resumes the run."""


def run_fire(
    url: str,
    logs_dir: Path,
    worker: str,
    fire_id: int,
    job: FireJob,
    due: dt.datetime,
    *,
    environ: Mapping[str, str] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> FireOutcome | None:
    """A worker runs a fire's workflow and records its outcome; None when the fire had its outcome already (its
    job was done once and retried); `STOPPED` when `should_stop` said so during the run (SIGTERM to the worker):
    the run then stops after its current step and the fire's outcome is left to the run's resumption."""
    from zoneinfo import ZoneInfo

    from runner.fleet.distributor import fleet_distributor
    from runner.run import NOT_STARTED, RunOptions, run_workflow

    label = fire_label(job, due)
    db = ScheduleDatabase(url)
    try:
        row = db.fire(fire_id)
        started = time.time()
        owner = (WORKER_OWNER + worker)[:64]
        if (
            row is None
            or row["status"] not in ACTIVE_FIRES
            or not db.fire_taken(fire_id, owner=owner, run_pid=os.getpid(), started_at=started, ttl=LOCK_TTL)
        ):
            log.warning("%s", _("{fire}: already recorded: its job does nothing").format(fire=label))
            return None
        log.info("%s", _("{fire}: run started by worker {worker}").format(fire=label, worker=worker))
        base = dict(os.environ if environ is None else environ)
        run_environ = {
            **base,
            "ROBO_STORE_URL": url,
            "ROBO_SCHEDULE_ID": job.job_id,
            "ROBO_SCHEDULED_FOR": due.astimezone(ZoneInfo(job.timezone)).isoformat(),
        }
        done, stop = threading.Event(), threading.Event()
        keeper = threading.Thread(
            target=_keep_lock,
            args=(db, fire_id, label, done, stop, should_stop),
            name=f"fire {fire_id} lock",
            daemon=True,
        )
        keeper.start()
        try:
            result = run_workflow(
                job.workflow_file,
                RunOptions(
                    inputs=anchored_inputs(job.workflow_file, job.inputs),
                    logs_dir=logs_dir,
                    store_url=url,
                    environ=run_environ,
                    resume_unfinished=True,
                    distributor=fleet_distributor(),
                    stop=stop,
                ),
            )
            if stop.is_set() and result.status == RunStatus.INTERRUPTED:
                log.info(
                    "%s",
                    _("{fire}: run {run_id} interrupted: the worker is stopping; another resumes it").format(
                        fire=label, run_id=result.run_id
                    ),
                )
                return STOPPED
            first = result.diagnostics[0] if result.diagnostics else None
            outcome = FireOutcome(
                fire_id,
                FireStatus.INVALID if result.status == NOT_STARTED else result.status,
                result.exit_code,
                result.run_id,
                str(result.run_dir) if result.run_dir else None,
                dict(result.counts),
                f"{first.span.file}:{first.span.line}:{first.span.col}: {first.message}" if first else None,
                started,
                time.time() - started,
            )
        except Exception as exc:  # a bug of the run's: the fire says so, the worker goes on
            log.exception("%s", _("{fire}: the run failed").format(fire=label))
            outcome = FireOutcome(
                fire_id,
                FireStatus.LOST,
                None,
                first_error=f"{type(exc).__name__}: {exc}",
                started_at=started,
                duration=time.time() - started,
            )
        finally:
            done.set()
            keeper.join()
        launcher = FireLauncher(db, owner=owner, logs_dir=logs_dir, store_url=url, environ=run_environ)
        launcher.finish(job, due, outcome, label)
        return outcome
    finally:
        db.close()


def anchored_inputs(workflow_file: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The schedule's inputs with its relative file and folder paths made absolute from the workflow's folder, as
    the local launcher has them (it starts `robo run` there); a worker runs in a folder of its own."""
    from runner.language import validate_file

    workflow = validate_file(workflow_file).workflow
    anchored = dict(inputs)
    if workflow is None:
        return anchored  # the run reports why
    folder = Path(workflow_file).resolve().parent
    for name, spec in workflow.inputs.items():
        value = anchored.get(name)
        if spec.type in ("file", "folder") and isinstance(value, str) and value:
            if not Path(value).expanduser().is_absolute():
                anchored[name] = str(folder / value)
    return anchored


def _keep_lock(
    db: ScheduleDatabase,
    fire_id: int,
    label: str,
    done: threading.Event,
    stop: threading.Event,
    should_stop: Callable[[], bool],
) -> None:
    """While the run lasts: extend the fire's lock every `REFRESH` seconds, and stop the run when the worker
    is asked to stop."""
    extended = time.monotonic()
    while not done.wait(STOP_POLL):
        if not stop.is_set() and should_stop():
            log.info(
                "%s",
                _("{fire}: the worker is stopping: the run stops after its current step").format(fire=label),
            )
            stop.set()
        if time.monotonic() - extended < REFRESH:
            continue
        extended = time.monotonic()
        try:
            db.extend_fire(fire_id, LOCK_TTL)
        except Exception as exc:  # a database hiccup must not abandon the run
            log.warning(
                "%s", _("fire #{fire}: could not extend its lock: {error}").format(fire=fire_id, error=exc)
            )
