"""Unattended runs: `robo schedule serve` starts the workflows of a folder on the times their `schedule:` declares.

APScheduler 3 does the timing, with its jobs in a persistent SQLAlchemy job store in the run store's database, so
next fire times and missed fires survive a restart. Each fire goes to `_RunExecutor`, which claims it in the
database and runs it as a separate `robo run` process (see `runner.schedule.launch`): `max_instances=1` per
schedule in a process, and the database's fire lock across processes, so that two services on one database start
each due run once, and never a run of a workflow while another run of it (by any of its schedules) lasts.

Missed fires (the service was stopped, or busy) are coalesced into one, which runs if it is at most `grace`
seconds late (`misfire: run_once_late`, no limit by default) or is dropped (`misfire: skip`, 5 s of grace).

The folder is polled every few seconds: a file added, changed or removed is (re)loaded; a file that became
invalid keeps its previous valid schedules, and the service logs the validator's messages. SIGTERM (or Ctrl+C)
stops firing, lets the runs in progress finish for up to `stop_timeout` seconds, then sends them SIGTERM (each
finishes its current step and records itself interrupted), then SIGKILL after `term_timeout` seconds. A second
signal skips the wait. Logs go to stdout, one event per line, without colours, for journald.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from robots.kit import _, in_human_zone, ngettext
from runner.schedule.database import APSCHEDULER_TABLE, Claim, ScheduleDatabase, fire_key
from runner.schedule.jobs import LoadedFile, ScheduleSpec, load_schedules, one_line, workflow_files
from runner.schedule.launch import FireJob, FireLauncher, Launcher, LauncherFactory, fire_label
from runner.schedule.moments import schedule_moment
from runner.schedule.settings import (
    BEAT_SECONDS,
    POLL_SECONDS,
    STOP_TIMEOUT,
    TERM_TIMEOUT,
    FireStatus,
    ServiceState,
)

log = logging.getLogger("robo.schedule")
JOB_FUNCTION = "runner.schedule.service:scheduled_run"


def scheduled_run(**kwargs: Any) -> None:
    """The function APScheduler's jobs name; the service's executor runs the fire instead of calling it."""
    raise RuntimeError("a schedule's job is run by the schedule service's executor, not called directly")


class _RunExecutor(BaseExecutor):  # type: ignore[misc]
    """Runs each submitted fire in a thread of its own, through the launcher (APScheduler counts instances)."""

    def __init__(self, service: ScheduleService) -> None:
        super().__init__()
        self.service = service
        self.threads: list[threading.Thread] = []

    def _do_submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        thread = threading.Thread(
            target=self._run, args=(job, list(run_times)), name=f"fire {job.id}", daemon=True
        )
        self.threads = [item for item in self.threads if item.is_alive()] + [thread]
        thread.start()

    def _run(self, job: Any, run_times: list[dt.datetime]) -> None:
        try:
            fire_job = FireJob.from_kwargs(job.kwargs)
            for due in run_times:
                late = time.time() - due.timestamp()
                # APScheduler keeps whole seconds only: the exact grace travels with the job's arguments.
                grace = job.kwargs.get("grace", job.misfire_grace_time)
                if grace is not None and late > grace:
                    self.service.launcher.missed(fire_job, due, late, grace)
                    continue
                self.service.launcher.fire(fire_job, due)
        except Exception:
            log.exception("%s", _("{schedule}: the fire failed").format(schedule=job.id))
        finally:
            self._run_job_success(job.id, [])


class ScheduleService:
    """The long-running service: loads the schedules of a folder, fires them, reloads them, stops gracefully."""

    def __init__(
        self,
        folder: Path,
        *,
        store_url: str,
        logs_dir: Path,
        poll_seconds: float = POLL_SECONDS,
        beat_seconds: float = BEAT_SECONDS,
        stop_timeout: float = STOP_TIMEOUT,
        term_timeout: float = TERM_TIMEOUT,
        environ: dict[str, str] | None = None,
        launcher: LauncherFactory = FireLauncher,
    ) -> None:
        self.folder = folder
        self.poll_seconds = poll_seconds
        self.beat_seconds = beat_seconds
        self.stop_timeout = stop_timeout
        self.term_timeout = term_timeout
        self.id = uuid.uuid4().hex[:12]
        self.db = ScheduleDatabase(store_url)
        self.launcher: Launcher = launcher(
            self.db, owner=self.id, logs_dir=logs_dir, store_url=store_url, environ=environ
        )
        self.files: dict[Path, LoadedFile] = {}
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._stop_now = threading.Event()
        self._executor = _RunExecutor(self)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.db.engine, tablename=APSCHEDULER_TABLE)},
            executors={"default": self._executor},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=dt.UTC,
        )
        self.scheduler.add_listener(self._refused, EVENT_JOB_MAX_INSTANCES)

    @property
    def specs(self) -> dict[str, ScheduleSpec]:
        return {spec.job_id: spec for loaded in self.files.values() for spec in loaded.specs}

    def stop(self, *, now: bool = False) -> None:
        """Ask the service to stop (from a signal handler or another thread); `now` skips waiting for runs."""
        if now:
            self._stop_now.set()
        self._stop.set()

    def serve(self, *, install_signals: bool = True) -> int:
        """Run until stopped; the exit code (0, or 1 when APScheduler's thread died)."""
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        with _signals(self, enabled=install_signals):
            self.db.register_service(self.id, str(self.folder.resolve()))
            log.info(
                "%s",
                _(
                    "service {id} started (pid {pid}, host {host}): workflows in {folder}, store {store}"
                ).format(
                    id=self.id,
                    pid=os.getpid(),
                    host=self.db.host,
                    folder=self.folder.resolve(),
                    store=_safe_store_url(self.db.url),
                ),
            )
            self.scheduler.start(paused=True)
            self.sync()
            self.scheduler.resume()
            self.db.beat(self.id, state=ServiceState.RUNNING, schedules=len(self.specs))
            log.info("%s", _ready_text(len(self.specs), len(self.files)))
            self.ready.set()
            code = self._loop()
            self._shutdown()
        return code

    def _loop(self) -> int:
        next_beat = next_poll = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if now >= next_poll:
                    next_poll = now + self.poll_seconds
                    self.sync()
                    self.launcher.reap(self._find_job)
                if now >= next_beat:
                    next_beat = now + self.beat_seconds
                    self.db.beat(self.id, state=ServiceState.RUNNING, schedules=len(self.specs))
                self._take_requests()
            except Exception as exc:  # a database that is away for a moment: try again on the next round
                log.error(
                    "%s",
                    _("service round failed: {what}: {error}").format(what=type(exc).__name__, error=exc),
                )
            thread = getattr(self.scheduler, "_thread", None)
            if thread is not None and not thread.is_alive():
                log.error(
                    "%s", _("APScheduler's thread stopped: the service stops so that it can be restarted")
                )
                return 1
            self._stop.wait(min(0.5, self.poll_seconds))
        return 0

    # loading the folder

    def sync(self) -> None:
        """Reload the files that changed, then make the job store hold exactly the current schedules."""
        current = workflow_files(self.folder)
        changed = False
        for path in current:
            path = path.resolve()
            known = self.files.get(path)
            if known is not None and not known.changed():
                continue
            loaded = load_schedules(path)
            if loaded.ok:
                self.files[path] = loaded
                changed = True
                log.info(
                    "%s",
                    ngettext(
                        "{file}: {n} schedule loaded", "{file}: {n} schedules loaded", len(loaded.specs)
                    ).format(file=path.name, n=len(loaded.specs)),
                )
                continue
            for diagnostic in loaded.diagnostics:
                log.error("%s", one_line(diagnostic))
            if known is not None and known.specs:
                log.error(
                    "%s",
                    _("{file} is not valid: its previous version stays scheduled ({schedules})").format(
                        file=path.name, schedules=_schedules(known.specs)
                    ),
                )
                known.signature = loaded.signature  # do not report the same errors again until the next edit
                known.diagnostics = loaded.diagnostics
            else:
                log.error("%s", _("{file} is not valid: nothing of it is scheduled").format(file=path.name))
                loaded.specs = []
                self.files[path] = loaded
        present = {path.resolve() for path in current}
        for path in [path for path in self.files if path not in present]:
            log.info("%s", _("{file} was removed: its schedules are removed").format(file=path.name))
            del self.files[path]
            changed = True
        if changed or not self.ready.is_set():
            self._apply()

    def _apply(self) -> None:
        desired = {job_id: spec for job_id, spec in self.specs.items() if spec.entry.enabled}
        # A file that is invalid since this service started keeps the jobs it had in the store.
        kept_prefixes = tuple(
            f"{loaded.path.stem}/" for loaded in self.files.values() if not loaded.ok and not loaded.specs
        )
        existing = {job.id: job for job in self.scheduler.get_jobs()}
        now = dt.datetime.now(dt.UTC)
        for job_id, spec in desired.items():
            job = existing.get(job_id)
            if job is not None and job.kwargs.get("fingerprint") == spec.fingerprint:
                if not self.ready.is_set():
                    log.info(
                        "%s",
                        _("kept {schedule}: {when}; next fire at {moment}").format(
                            schedule=job_id, when=spec.trigger, moment=_next_text(job, spec.entry.timezone)
                        ),
                    )
                continue
            upcoming = spec.trigger.get_next_fire_time(None, now)
            if upcoming is None:
                if job is not None:
                    self._remove(job_id)
                log.info(
                    "%s",
                    _("{schedule}: {when}: no fire time to come").format(schedule=job_id, when=spec.trigger),
                )
                continue
            try:
                self.scheduler.add_job(
                    JOB_FUNCTION,
                    trigger=spec.trigger,
                    id=job_id,
                    name=f"{spec.workflow} ({job_id})",
                    kwargs=spec.job_kwargs,
                    replace_existing=True,
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=_whole_seconds(spec.misfire_grace_time),
                )
            except (ConflictingIdError, JobLookupError):
                continue  # another service changed the same job at the same moment
            except Exception as exc:  # one schedule that cannot be stored must not stop the others
                log.error(
                    "%s",
                    _("{schedule}: cannot be scheduled: {what}: {error}").format(
                        schedule=job_id, what=type(exc).__name__, error=exc
                    ),
                )
                continue
            changed_text = (
                _("changed {schedule}: {when}; next fire at {moment}")
                if job
                else _("scheduled {schedule}: {when}; next fire at {moment}")
            )
            log.info(
                "%s",
                changed_text.format(
                    schedule=job_id, when=spec.trigger, moment=schedule_moment(upcoming, spec.entry.timezone)
                ),
            )
        for job_id in existing.keys() - desired.keys():
            if not job_id.startswith(kept_prefixes):
                self._remove(job_id)
                log.info("%s", _("unscheduled {schedule}").format(schedule=job_id))

    def _remove(self, job_id: str) -> None:
        try:
            self.scheduler.remove_job(job_id)
        except JobLookupError:
            pass

    def _find_job(self, job_id: str) -> FireJob | None:
        spec = self.specs.get(job_id)
        if spec is not None:
            return FireJob.from_kwargs(spec.job_kwargs)
        job = self.scheduler.get_job(job_id)
        return FireJob.from_kwargs(job.kwargs) if job is not None else None

    # run-now requests and refused fires

    def _take_requests(self) -> None:
        for request in self.db.take_requests(self.id):
            job = self._find_job(request["job_id"])
            if job is None:
                log.warning(
                    "%s", _("run-now {schedule}: no such schedule here").format(schedule=request["job_id"])
                )
                self.db.request_fired(request["id"], 0)
                continue
            log.info(
                "%s",
                _("run-now {schedule}: asked by {who}").format(
                    schedule=job.job_id, who=request["requested_by"]
                ),
            )
            threading.Thread(target=self._run_now, args=(job, request["id"]), daemon=True).start()

    def _run_now(self, job: FireJob, request_id: int) -> None:
        def answer(claim: Claim) -> None:
            self.db.request_fired(request_id, claim.fire_id or 0)

        self.launcher.fire(job, dt.datetime.now(dt.UTC), kind="manual", on_claim=answer)

    def _refused(self, event: JobSubmissionEvent) -> None:
        spec = self.specs.get(event.job_id)
        job = (
            FireJob.from_kwargs(spec.job_kwargs)
            if spec
            else FireJob(event.job_id, event.job_id, "", timezone="UTC")
        )
        for due in event.scheduled_run_times:
            detail = _("the previous run of this schedule is still going")
            log.warning("%s", _("{fire}: skipped: {reason}").format(fire=fire_label(job, due), reason=detail))
            self.db.record_fire(
                event.job_id,
                fire_key(due),
                kind="scheduled",
                owner=self.id,
                status=FireStatus.SKIPPED_OVERLAP,
                detail=detail,
            )

    # stopping

    def _shutdown(self) -> None:
        self.launcher.closing.set()
        self.scheduler.shutdown(wait=False)
        running = len(self.launcher.running)
        log.info(
            "%s",
            ngettext(
                "stopping: no new runs; {n} run in progress",
                "stopping: no new runs; {n} runs in progress",
                running,
            ).format(n=running),
        )
        self.db.beat(self.id, state=ServiceState.STOPPING)
        deadline = time.monotonic() + self.stop_timeout
        next_beat = time.monotonic() + self.beat_seconds
        while self.launcher.running and time.monotonic() < deadline and not self._stop_now.is_set():
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self.beat_seconds
                self.db.beat(self.id, state=ServiceState.STOPPING)
            time.sleep(0.1)
        if self.launcher.running:
            count = self.launcher.signal_all(signal.SIGTERM)
            log.warning(
                "%s",
                ngettext(
                    "sent SIGTERM to {n} run: it stops after its current step",
                    "sent SIGTERM to {n} runs: each stops after its current step",
                    count,
                ).format(n=count),
            )
            deadline = time.monotonic() + self.term_timeout
            while self.launcher.running and time.monotonic() < deadline:
                time.sleep(0.1)
        if self.launcher.running:
            count = self.launcher.signal_all(signal.SIGKILL)
            log.error(
                "%s",
                ngettext(
                    "sent SIGKILL to {n} run that did not stop",
                    "sent SIGKILL to {n} runs that did not stop",
                    count,
                ).format(n=count),
            )
        for thread in self._executor.threads:
            thread.join(timeout=30)
        self.db.beat(self.id, state=ServiceState.STOPPED)
        log.info("%s", _("service {id} stopped").format(id=self.id))
        self.launcher.close()
        self.db.close()


@contextmanager
def _signals(service: ScheduleService, *, enabled: bool) -> Iterator[None]:
    """SIGTERM and SIGINT stop the service gracefully; a second one stops it without waiting for the runs."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: Any) -> None:
        again = service._stop.is_set()
        name = signal.Signals(signum).name
        said = _("{signal} received: stopping now") if again else _("{signal} received")
        log.info("%s", said.format(signal=name))
        service.stop(now=again)

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _whole_seconds(grace: float | None) -> int | None:
    return None if grace is None else max(1, math.ceil(grace))


def _next_text(job: Any, timezone: str) -> str:
    upcoming = job.next_run_time
    if upcoming is None:
        return _("none (paused in the job store)")
    text = schedule_moment(upcoming, timezone)
    if upcoming < dt.datetime.now(dt.UTC):
        return _("{moment} (missed: handled now)").format(moment=text)
    return text


def _schedules(specs: list[ScheduleSpec]) -> str:
    return ngettext("{n} schedule", "{n} schedules", len(specs)).format(n=len(specs))


def _ready_text(schedules: int, files: int) -> str:
    return _("ready: {schedules} from {files}").format(
        schedules=ngettext("{n} schedule", "{n} schedules", schedules).format(n=schedules),
        files=ngettext("{n} file", "{n} files", files).format(n=files),
    )


def _safe_store_url(url: str) -> str:
    """The store's URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<store>"


class JournalFormatter(logging.Formatter):
    """One event per line (newlines folded), no colours: what journald and log files keep well."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # ISO 8601 with its offset (journald and tools read it), in the zone for humans.
        return in_human_zone(record.created).isoformat(timespec="milliseconds")

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", " ").replace("\n", " | ")


def setup_logging(stream: Any = None) -> None:
    """Log the service's events to stdout (or `stream`), one per line."""
    import sys

    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JournalFormatter())
    for name, level in (("robo", logging.INFO), ("apscheduler", logging.ERROR)):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
