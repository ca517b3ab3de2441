"""One fire of a schedule, from its lock to its notification.

The fire is claimed in the database first (one fire, one run, whichever process is first), then run as a separate
`robo run` process, so that a crashing browser cannot take the service down:

    python -m runner.cli run WORKFLOW -i name=value … --logs LOGS --format json

started in the workflow's folder (paths in a schedule's `inputs` are relative to it, like the workflow's own
defaults), in a session of its own (a Ctrl+C on the service's terminal is the service's to handle), with the run
store's URL in `ROBO_STORE_URL` rather than on the command line where `ps` would show its password, and with
`ROBO_SCHEDULE_ID` and `ROBO_SCHEDULED_FOR` (the due time) for the workflow to read as `env.…`. Its JSON summary
goes to `LOGS/schedule/fire-<id>.json` and its error output to `fire-<id>.log`, both kept unless the run
succeeded without error output. While the run lasts, the fire's lock is extended; a lock left by a service that died is taken over by a service of the same host, which waits for
the orphan run to end and records it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from robots.kit import N_, ConfigurationError, _, format_duration, format_number
from runner.events import EXIT_CODES, RunStatus
from runner.review import run_page_link
from runner.schedule.database import Claim, ScheduleDatabase, fire_key, parse_fire_key, pid_alive
from runner.schedule.moments import schedule_moment
from runner.schedule.notify import (
    NotifyTargets,
    RunSummary,
    notification_event,
    send_notifications,
)
from runner.schedule.settings import FAILURE, LOCK_TTL, REFRESH, SUCCESS, FireStatus, fire_status_text

log = logging.getLogger("robo.schedule")
EXIT_STATUSES = {code: status.value for status, code in EXIT_CODES.items()}


@dataclass(frozen=True)
class FireJob:
    """What a job carries in the job store: enough to start a run of one schedule."""

    job_id: str
    workflow: str
    workflow_file: str
    inputs: dict[str, Any] = field(default_factory=dict)
    timezone: str = "Europe/Paris"
    notify: dict[str, Any] | None = None

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> FireJob:
        return cls(
            job_id=kwargs["job_id"],
            workflow=kwargs["workflow"],
            workflow_file=kwargs["workflow_file"],
            inputs=dict(kwargs.get("inputs") or {}),
            timezone=kwargs.get("timezone") or "Europe/Paris",
            notify=kwargs.get("notify"),
        )


@dataclass(frozen=True)
class FireOutcome:
    fire_id: int
    status: str
    exit_code: int | None
    run_id: str | None = None
    run_dir: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None
    started_at: float | None = None
    duration: float | None = None


def local_time(moment: dt.datetime, timezone: str) -> str:
    """A time as the schedule's zone shows it, for machines (a webhook's `due_at`): `2026-05-04 07:00:00 CEST`."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")


def fire_label(job: FireJob, due: dt.datetime) -> str:
    """How log lines name a fire: `saisie/matin due 2026-05-04 07:00:00 (Europe/Paris)`."""
    return _("{schedule} due {moment}").format(schedule=job.job_id, moment=schedule_moment(due, job.timezone))


KIND_WORDS = {"scheduled": N_("scheduled"), "manual": N_("manual")}
"""How a fire came: on its schedule, or asked by `robo schedule run-now`."""


def finished_text(label: str, outcome: FireOutcome) -> str:
    """`saisie/matin due …: failed in 12 s (run 20260504-…, exit code 1)`, in the language of the process."""
    if outcome.run_id is None:
        detail = _("no run") if outcome.exit_code is None else _("no run, exit code {code}")
    else:
        detail = _("run {run}") if outcome.exit_code is None else _("run {run}, exit code {code}")
    detail = detail.format(run=outcome.run_id, code=outcome.exit_code)
    status = fire_status_text(outcome.status)
    if outcome.duration is None:
        return _("{fire}: {status} ({detail})").format(fire=label, status=status, detail=detail)
    return _("{fire}: {status} in {duration} ({detail})").format(
        fire=label, status=status, duration=format_duration(outcome.duration), detail=detail
    )


def run_command(job: FireJob, logs_dir: Path) -> list[str]:
    command = [sys.executable, "-m", "runner.cli", "run", job.workflow_file]
    for name, value in job.inputs.items():
        if value is not None:
            command += ["-i", f"{name}={_input_text(value)}"]
    return [*command, "--logs", str(logs_dir), "--format", "json"]


def _input_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def read_outcome(
    fire_id: int, output: Path, errors: Path, returncode: int | None, *, signalled: bool = False
) -> FireOutcome:
    """The run's outcome from the JSON `robo run --format json` printed, or from its exit code when it printed
    none (it crashed, or was killed)."""
    data: dict[str, Any] | None = None
    try:
        text = output.read_text(encoding="utf-8").strip()
        data = json.loads(text[text.index("{") :]) if "{" in text else None
    except (OSError, ValueError):
        data = None
    if isinstance(data, dict) and "status" in data:
        problems = data.get("errors") or []
        first = problems[0] if problems else None
        first_error = (
            f"{first.get('file')}:{first.get('line')}:{first.get('col')}: {first.get('message')}"
            if isinstance(first, dict)
            else None
        )
        return FireOutcome(
            fire_id,
            str(data["status"]),
            returncode,
            data.get("run_id"),
            data.get("run_dir"),
            dict(data.get("counts") or {}),
            first_error,
        )
    status: str
    if returncode is None:
        status = FireStatus.LOST
    elif returncode in EXIT_STATUSES:
        status = EXIT_STATUSES[returncode]
    else:
        status = RunStatus.INTERRUPTED if signalled else RunStatus.CRASHED
    return FireOutcome(fire_id, status, returncode, first_error=_last_line(errors))


def _last_line(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 4000))
            lines = [line.strip() for line in handle.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return None
    lines = [line for line in lines if line]
    return lines[-1][:500] if lines else None


class Launcher(Protocol):
    """What the service asks of whatever starts its fires: `FireLauncher` runs each here, in a `robo run`
    process; a fleet's launcher (`runner.fleet.FleetLauncher`, chosen by `robo schedule serve` on a fleet's
    database) sends each to the fleet's workers."""

    @property
    def closing(self) -> threading.Event:
        """Set when the service stops: a fire claimed now does not start."""

    @property
    def running(self) -> Mapping[int, Any]:
        """The runs in progress in this process, which the service waits for when it stops."""

    def fire(
        self,
        job: FireJob,
        due: dt.datetime,
        *,
        kind: str = "scheduled",
        on_claim: Callable[[Claim], None] | None = None,
    ) -> FireOutcome | None: ...

    def missed(self, job: FireJob, due: dt.datetime, late: float, grace: float | None) -> None: ...

    def reap(self, find_job: Callable[[str], FireJob | None]) -> None: ...

    def signal_all(self, signum: int) -> int: ...

    def close(self) -> None: ...


LauncherFactory = Callable[..., Launcher]
"""Makes the service's launcher: called with the schedule database and `owner`, `logs_dir`, `store_url`,
`environ` as keywords (the arguments of `FireLauncher`)."""


class FireLauncher:
    """Claims fires and runs them, each in its own `robo run` process; used by the service and `run-now`."""

    def __init__(
        self,
        db: ScheduleDatabase,
        *,
        owner: str,
        logs_dir: Path,
        store_url: str,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.db = db
        self.owner = owner
        self.logs_dir = logs_dir.resolve()
        self.store_url = store_url
        self.environ = dict(os.environ if environ is None else environ)
        self.running: dict[int, subprocess.Popen[bytes]] = {}
        self.signalled: set[int] = set()
        self.watched: dict[int, dict[str, Any]] = {}  # orphan runs adopted from a service that died
        self.closing = threading.Event()  # set when the service stops: a fire claimed now does not start
        self._lock = threading.Lock()

    def fire(
        self,
        job: FireJob,
        due: dt.datetime,
        *,
        kind: str = "scheduled",
        on_claim: Callable[[Claim], None] | None = None,
    ) -> FireOutcome | None:
        """Claim the fire and, when it is ours, run it to its end (blocking); None when it did not run."""
        label = fire_label(job, due)
        claim = self.db.claim_fire(
            job.job_id,
            fire_key(due),
            kind=kind,
            owner=self.owner,
            ttl=LOCK_TTL,
            honour_pause=kind == "scheduled",
        )
        if on_claim is not None:
            on_claim(claim)
        if claim.outcome == "taken":
            log.info("%s", _("{fire}: taken by another service").format(fire=label))
            return None
        if claim.outcome != "run" or claim.fire_id is None:
            log.warning("%s", _("{fire}: skipped: {reason}").format(fire=label, reason=claim.detail))
            return None
        return self._run(job, due, claim.fire_id, kind, label)

    def missed(self, job: FireJob, due: dt.datetime, late: float, grace: float | None) -> None:
        detail = _("missed by {late} (more than the {grace} of grace)").format(
            late=format_duration(late), grace=format_duration(grace or 0)
        )
        log.warning("%s", _("{fire}: not run: {reason}").format(fire=fire_label(job, due), reason=detail))
        self.db.record_fire(
            job.job_id,
            fire_key(due),
            kind="scheduled",
            owner=self.owner,
            status=FireStatus.MISSED,
            detail=detail,
        )

    def _run(self, job: FireJob, due: dt.datetime, fire_id: int, kind: str, label: str) -> FireOutcome | None:
        """Start the claimed fire's run and see it to its end (a fleet's launcher sends it to the workers)."""
        if self.closing.is_set():
            outcome = FireOutcome(
                fire_id, RunStatus.INTERRUPTED, None, first_error=_("the service was stopping")
            )
            self.db.fire_finished(fire_id, status=outcome.status, detail=outcome.first_error)
            log.warning("%s", _("{fire}: not started: the service is stopping").format(fire=label))
            return outcome
        folder = self.logs_dir / "schedule"
        folder.mkdir(parents=True, exist_ok=True)
        output, errors = folder / f"fire-{fire_id}.json", folder / f"fire-{fire_id}.log"
        environ = {
            **self.environ,
            "ROBO_STORE_URL": self.store_url,
            "ROBO_SCHEDULE_ID": job.job_id,
            "ROBO_SCHEDULED_FOR": due.astimezone(ZoneInfo(job.timezone)).isoformat(),
        }
        try:
            with output.open("wb") as out, errors.open("wb") as err:
                process = subprocess.Popen(
                    run_command(job, self.logs_dir),
                    cwd=Path(job.workflow_file).parent,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=environ,
                    start_new_session=True,
                )
        except OSError as exc:
            outcome = FireOutcome(
                fire_id,
                RunStatus.CRASHED,
                None,
                first_error=_("the run could not start: {error}").format(error=exc),
            )
            self.db.fire_finished(fire_id, status=outcome.status, detail=outcome.first_error)
            log.error("%s", _("{fire}: {error}").format(fire=label, error=outcome.first_error))
            self.notify(job, due, outcome)
            return outcome
        started = time.time()
        with self._lock:
            self.running[fire_id] = process
        self.db.fire_started(fire_id, run_pid=process.pid, started_at=started, output=str(output))
        log.info(
            "%s",
            _("{fire}: run started ({kind}, pid {pid}, {delay} s after the due time)").format(
                fire=label,
                kind=_(KIND_WORDS[kind]) if kind in KIND_WORDS else kind,
                pid=process.pid,
                delay=format_number(started - due.timestamp(), decimals=3),
            ),
        )
        try:
            returncode = self._wait(process, fire_id)
        finally:
            with self._lock:
                self.running.pop(fire_id, None)
                signalled = fire_id in self.signalled
        outcome = read_outcome(fire_id, output, errors, returncode, signalled=signalled)
        outcome = FireOutcome(
            **{**outcome.__dict__, "started_at": started, "duration": time.time() - started}
        )
        self.finish(job, due, outcome, label)
        if outcome.status == RunStatus.SUCCEEDED and not errors.stat().st_size:
            output.unlink(missing_ok=True)  # the run store and the audit log hold all of it
            errors.unlink(missing_ok=True)
        return outcome

    def _wait(self, process: subprocess.Popen[bytes], fire_id: int) -> int:
        while True:
            try:
                return process.wait(timeout=REFRESH)
            except subprocess.TimeoutExpired:
                try:
                    self.db.extend_fire(fire_id, LOCK_TTL)
                except Exception as exc:  # a database hiccup must not abandon the run
                    log.warning(
                        "%s",
                        _("fire #{fire}: could not extend its lock: {error}").format(fire=fire_id, error=exc),
                    )

    def finish(self, job: FireJob, due: dt.datetime, outcome: FireOutcome, label: str) -> None:
        self.db.fire_finished(
            outcome.fire_id,
            status=outcome.status,
            exit_code=outcome.exit_code,
            run_id=outcome.run_id,
            run_dir=outcome.run_dir,
            detail=outcome.first_error,
        )
        log.info("%s", finished_text(label, outcome))
        if outcome.status in FAILURE and outcome.first_error:
            log.warning(
                "%s",
                _("{fire}: first error: {error}").format(
                    fire=label, error=outcome.first_error.replace("\n", " ")
                ),
            )
        self.notify(job, due, outcome)

    def notify(self, job: FireJob, due: dt.datetime, outcome: FireOutcome) -> None:
        try:
            previous = self.db.previous_outcome(job.job_id, outcome.fire_id, SUCCESS | FAILURE)
            event = notification_event(outcome.status, previous)
            try:
                link = run_page_link(outcome.run_id, self.environ)
            except ConfigurationError as exc:  # said, and the notification goes without its link
                link = None
                log.warning("%s", _("{schedule}: {error}").format(schedule=job.job_id, error=exc))
            summary = RunSummary(
                workflow=job.workflow,
                schedule=job.job_id,
                status=outcome.status,
                workflow_file=job.workflow_file,
                due_at=local_time(due, job.timezone),
                started_at=(
                    dt.datetime.fromtimestamp(outcome.started_at).astimezone().isoformat(timespec="seconds")
                    if outcome.started_at
                    else None
                ),
                scheduled_for=due.astimezone(ZoneInfo(job.timezone)).isoformat(),
                timezone=job.timezone,
                duration=outcome.duration,
                run_id=outcome.run_id,
                run_dir=outcome.run_dir,
                exit_code=outcome.exit_code,
                counts=outcome.counts,
                first_error=outcome.first_error,
                console_link=link,
            )
            targets = NotifyTargets.resolve(job.notify, self.environ)
            for line in send_notifications(summary, event, targets, self.environ):
                log.info("%s", _("{schedule}: {notification}").format(schedule=job.job_id, notification=line))
        except Exception as exc:  # a notification must never stop the service
            log.error(
                "%s",
                _("{schedule}: notification failed: {what}: {error}").format(
                    schedule=job.job_id, what=type(exc).__name__, error=exc
                ),
            )

    def close(self) -> None:
        """Nothing to release: each run is a process of its own."""

    def signal_all(self, signum: int) -> int:
        """Send a signal to every run in progress (SIGKILL to its whole process group); how many got it."""
        with self._lock:
            processes = dict(self.running)
            self.signalled.update(processes)
        for process in processes.values():
            try:
                if signum == signal.SIGKILL:
                    os.killpg(process.pid, signal.SIGKILL)
                else:
                    process.send_signal(signum)
            except (ProcessLookupError, PermissionError):
                pass
        return len(processes)

    def reap(self, find_job: Callable[[str], FireJob | None]) -> None:
        """Take over, on this host, the runs of services that stopped beating, and record those that ended."""
        now = time.time()
        for row in self.db.running_fires():
            if row["owner"] == self.owner or row["host"] != self.db.host or row["expires_at"] > now:
                continue
            if row["id"] in self.watched or not self.db.adopt_orphan(row["id"], self.owner, LOCK_TTL):
                continue
            log.info(
                "%s",
                _("{schedule}: took over fire #{fire} (run pid {pid}) from a service that stopped").format(
                    schedule=row["job_id"], fire=row["id"], pid=row["run_pid"]
                ),
            )
            self.watched[row["id"]] = row
        for fire_id, row in list(self.watched.items()):
            if pid_alive(row["run_pid"], row["started_at"]):
                self.db.extend_fire(fire_id, LOCK_TTL)
                continue
            del self.watched[fire_id]
            job = find_job(row["job_id"]) or FireJob(row["job_id"], row["job_id"], "")
            output = (
                Path(row["output"]) if row["output"] else self.logs_dir / "schedule" / f"fire-{fire_id}.json"
            )
            outcome = read_outcome(fire_id, output, output.with_suffix(".log"), None)
            due = parse_fire_key(row["fire_time"])
            self.finish(job, due, outcome, fire_label(job, due))
