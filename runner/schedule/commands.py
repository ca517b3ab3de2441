"""What `robo schedule list | status | pause | resume | run-now` do; `runner/cli.py` only parses their options.

`run-now` goes through the service when one is alive on the database (it inserts a request that the service
polls, so the run starts on the service's machine, under its locks, with its environment), and runs the fire in
the command's own process otherwise, waiting for its end. Either way the fire is claimed like a scheduled one:
it is refused while a run of the same workflow lasts.
"""

from __future__ import annotations

import datetime as dt
import getpass
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robots.kit import _, format_duration, format_moment, ngettext
from runner.language import Diagnostic, did_you_mean
from runner.language.templating import slug
from runner.record import AUDIT_LOG_NAME, RunStore
from runner.review import reported_runs
from runner.schedule.database import APSCHEDULER_TABLE, ScheduleDatabase, parse_fire_key
from runner.schedule.jobs import LoadedFile, load_schedules, workflow_files
from runner.schedule.launch import EXIT_STATUSES, FireJob, FireLauncher, local_time
from runner.schedule.moments import schedule_moment, schedule_zone_label, weekday_moment
from runner.schedule.service import setup_logging
from runner.schedule.settings import (
    ALIVE_BEATS,
    BEAT_SECONDS,
    LIVE_STATES,
    RUN_NOW_WAIT,
    FireStatus,
    ServiceState,
    fire_status_text,
    service_state_text,
)

Echo = Callable[[str], None]


@dataclass
class Catalogue:
    """The schedules of a folder, the database they run against, and the files that could not be read."""

    files: list[LoadedFile]
    db: ScheduleDatabase
    store: RunStore

    @classmethod
    def open(cls, folder: Path, store_url: str) -> Catalogue:
        store = RunStore(store_url)
        return cls(
            [load_schedules(path) for path in workflow_files(folder)],
            ScheduleDatabase(store_url, store.engine),
            store,
        )

    def close(self) -> None:
        self.store.close()

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for loaded in self.files for d in loaded.diagnostics]

    @property
    def sources(self) -> dict[str, list[str]]:
        return {name: lines for loaded in self.files for name, lines in loaded.sources.items()}

    def jobs(self) -> dict[str, FireJob]:
        """Every schedule known: those of valid files, then those the job store keeps (of files now invalid)."""
        known = {job_id: FireJob.from_kwargs(kwargs) for job_id, kwargs in self._stored_jobs().items()}
        for loaded in self.files:
            for spec in loaded.specs:
                known[spec.job_id] = FireJob.from_kwargs(spec.job_kwargs)
        return known

    def _stored_jobs(self) -> dict[str, dict[str, Any]]:
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from sqlalchemy import inspect

        if not inspect(self.db.engine).has_table(APSCHEDULER_TABLE):
            return {}
        try:
            jobs = SQLAlchemyJobStore(engine=self.db.engine, tablename=APSCHEDULER_TABLE).get_all_jobs()
        except Exception:  # a job stored by another version of Rob'O: the files still tell the schedules
            return {}
        return {job.id: dict(job.kwargs) for job in jobs}

    def resolve(self, name: str) -> list[str]:
        """The schedule ids a name means: an id (`saisie/matin`), a file name (`saisie`) or a workflow's name."""
        jobs = self.jobs()
        if name in jobs:
            return [name]
        wanted = slug(name)
        return sorted(
            job_id
            for job_id, job in jobs.items()
            if job_id.split("/", 1)[0] == name
            or slug(job.workflow) == wanted
            or slug(job_id.split("/", 1)[0]) == wanted
        )


def _unknown(catalogue: Catalogue, name: str, err: Echo) -> int:
    ids = sorted(catalogue.jobs())
    hint = did_you_mean(name, ids + sorted({job_id.split("/", 1)[0] for job_id in ids}))
    text = (
        _("error: no schedule '{name}' (schedules: {schedules})").format(name=name, schedules=", ".join(ids))
        if ids
        else _("error: no schedule '{name}' (there is none)").format(name=name)
    )
    err(text + ("\n  " + _("hint: {hint}").format(hint=hint) if hint else ""))
    return 1


def list_schedules(
    folder: Path, store_url: str, *, count: int = 3, now: dt.datetime | None = None
) -> tuple[list[dict[str, Any]], Catalogue]:
    """Every schedule with its next fire times (in its zone), pause state and the workflow's last run."""
    now = now or dt.datetime.now(dt.UTC)
    catalogue = Catalogue.open(folder, store_url)
    paused = catalogue.db.paused()
    rows = []
    for loaded in catalogue.files:
        for spec in loaded.specs:
            timezone = spec.entry.timezone
            upcoming = spec.trigger.fire_times(now, count) if spec.entry.enabled else []
            last = reported_runs(catalogue.store, workflow=spec.workflow, limit=1)
            rows.append(
                {
                    "id": spec.job_id,
                    "workflow": spec.workflow,
                    "file": spec.workflow_file,
                    "when": str(spec.trigger),
                    "timezone": timezone,
                    "enabled": spec.entry.enabled,
                    "paused": spec.job_id in paused,
                    "misfire": spec.entry.misfire,
                    "next": [moment.astimezone(spec.trigger.zone).isoformat() for moment in upcoming],
                    "next_text": [weekday_moment(moment, timezone) for moment in upcoming],
                    "last_run": (
                        {"id": last[0].id, "status": last[0].status, "started_at": last[0].started_at}
                        if last
                        else None
                    ),
                }
            )
    return rows, catalogue


def print_schedules(rows: list[dict[str, Any]], out: Echo) -> None:
    """Each schedule on a few lines, its moments in its own zone, named."""
    for row in rows:
        if not row["enabled"]:
            out(_("{schedule} (disabled) — {workflow}").format(schedule=row["id"], workflow=row["workflow"]))
        elif row["paused"]:
            out(_("{schedule} (paused) — {workflow}").format(schedule=row["id"], workflow=row["workflow"]))
        else:
            out(_("{schedule} — {workflow}").format(schedule=row["id"], workflow=row["workflow"]))
        out("  " + _("when: {when}").format(when=row["when"]))
        if row["next_text"]:
            out(
                "  "
                + _("next ({zone}): {moments}").format(
                    zone=schedule_zone_label(row["timezone"]), moments=", ".join(row["next_text"])
                )
            )
        else:
            out("  " + _("next: none"))
        last = row["last_run"]
        if last:
            out(
                "  "
                + _("last run: {status}, started {moment} (run {run})").format(
                    status=fire_status_text(last["status"]),
                    moment=schedule_moment(dt.datetime.fromisoformat(last["started_at"]), row["timezone"]),
                    run=last["id"],
                )
            )
        else:
            out("  " + _("last run: none"))


def service_status(store_url: str) -> dict[str, Any]:
    """The services that used this database (alive or not) and the runs in progress."""
    db = ScheduleDatabase(store_url)
    try:
        now = time.time()
        services = []
        for row in db.services(limit=10):
            alive = row["state"] in LIVE_STATES and now - row["beat_at"] < ALIVE_BEATS * BEAT_SECONDS
            services.append({**row, "alive": alive, "beat_age": round(now - row["beat_at"], 1)})
        running = [
            {
                **row,
                "for_seconds": round(now - row["started_at"], 1) if row["started_at"] else None,
                "stale": row["expires_at"] < now,
            }
            for row in db.running_fires()
        ]
        return {"services": services, "running": running}
    finally:
        db.close()


def print_status(status: dict[str, Any], out: Echo) -> None:
    """The services (the last five) and the runs in progress; moments in the zone for humans, named."""
    if not status["services"]:
        out(_("no schedule service has used this database"))
    for row in status["services"][:5]:
        where = _("host {host}, pid {pid}").format(host=row["host"], pid=row["pid"])
        if row["alive"]:
            out(
                ngettext(
                    "service {id}: {state} ({where}), last beat {age} ago, "
                    "{n} schedule loaded from {folder}, since {moment}",
                    "service {id}: {state} ({where}), last beat {age} ago, "
                    "{n} schedules loaded from {folder}, since {moment}",
                    row["schedules"] or 0,
                ).format(
                    id=row["id"],
                    state=service_state_text(row["state"]),
                    where=where,
                    age=format_duration(row["beat_age"]),
                    n=row["schedules"] or 0,
                    folder=row["workflows_dir"],
                    moment=format_moment(row["started_at"], labelled=True),
                )
            )
        else:
            last = format_moment(row["beat_at"], labelled=True)
            if row["state"] == ServiceState.STOPPED:
                out(
                    _("service {id}: stopped ({where}), last beat {moment}").format(
                        id=row["id"], where=where, moment=last
                    )
                )
            else:
                out(
                    _("service {id}: not beating, killed or crashed? ({where}), last beat {moment}").format(
                        id=row["id"], where=where, moment=last
                    )
                )
    for fire in status["running"]:
        detail = _("fire #{fire}, run pid {pid}").format(fire=fire["id"], pid=fire["run_pid"])
        if fire["for_seconds"] is not None:
            detail = _("{detail}, for {duration}").format(
                detail=detail, duration=format_duration(fire["for_seconds"])
            )
        if fire["stale"]:
            detail = _("{detail}; its service stopped beating").format(detail=detail)
        out(
            _("running: {schedule} due {moment} ({detail})").format(
                schedule=fire["job_id"],
                moment=format_moment(parse_fire_key(fire["fire_time"]), labelled=True),
                detail=detail,
            )
        )


def set_paused(
    name: str, folder: Path, store_url: str, paused: bool, out: Echo, err: Echo, *, by: str | None = None
) -> int:
    """`robo schedule pause | resume` (and the console's buttons): `by` says who (default: this login@host)."""
    catalogue = Catalogue.open(folder, store_url)
    try:
        ids = catalogue.resolve(name)
        if not ids:
            return _unknown(catalogue, name, err)
        catalogue.db.set_paused(ids, paused, by=by or _who())
    finally:
        catalogue.close()
    for job_id in ids:
        out((_("{schedule}: paused") if paused else _("{schedule}: resumed")).format(schedule=job_id))
    return 0


def run_now(
    name: str,
    folder: Path,
    store_url: str,
    logs_dir: Path,
    out: Echo,
    err: Echo,
    *,
    direct: bool = False,
    wait: float = RUN_NOW_WAIT,
) -> int:
    """Start a schedule's run now: through the service when one is alive, else in this process."""
    catalogue = Catalogue.open(folder, store_url)
    try:
        ids = catalogue.resolve(name)
        if len(ids) != 1:
            if not ids:
                return _unknown(catalogue, name, err)
            err(
                ngettext(
                    "error: '{name}' has {n} schedule, name one of them: {schedules}",
                    "error: '{name}' has {n} schedules, name one of them: {schedules}",
                    len(ids),
                ).format(name=name, n=len(ids), schedules=", ".join(ids))
            )
            return 1
        job = catalogue.jobs()[ids[0]]
        alive = [
            row
            for row in service_status(store_url)["services"]
            if row["alive"] and row["state"] != "stopping"
        ]
        if alive and not direct:
            return _ask_service(catalogue.db, job, alive[0], out, err, wait)
        launcher = FireLauncher(
            catalogue.db, owner=f"cli-{uuid.uuid4().hex[:8]}", logs_dir=logs_dir, store_url=store_url
        )
        setup_logging(sys.stderr)
        outcome = launcher.fire(job, dt.datetime.now(dt.UTC), kind="manual")
    finally:
        catalogue.close()
    if outcome is None:
        return 1
    status = fire_status_text(outcome.status)
    if outcome.run_id:
        out(
            _("{schedule}: {status} (run {run})").format(
                schedule=job.job_id, status=status, run=outcome.run_id
            )
        )
    else:
        out(_("{schedule}: {status} (no run)").format(schedule=job.job_id, status=status))
    if outcome.run_dir:
        out(_("audit log: {path}").format(path=Path(outcome.run_dir) / AUDIT_LOG_NAME))
    codes = {status: code for code, status in EXIT_STATUSES.items()}
    return codes.get(outcome.status, 1)


def _ask_service(
    db: ScheduleDatabase, job: FireJob, service: dict[str, Any], out: Echo, err: Echo, wait: float
) -> int:
    request_id = db.request_run(job.job_id, _who())
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        request = db.request(request_id)
        if request and request["fire_id"] is not None:  # 0: the service answered without running it
            fire = db.fire(request["fire_id"]) if request["fire_id"] else None
            if fire is None:
                err(_("error: the service did not run {schedule}").format(schedule=job.job_id))
                return 1
            if fire["status"] in (FireStatus.SKIPPED_OVERLAP, FireStatus.SKIPPED_PAUSED):
                err(_("{schedule}: refused: {reason}").format(schedule=job.job_id, reason=fire["detail"]))
                return 1
            out(
                _("{schedule}: started by service {service} on {host} (fire #{fire})").format(
                    schedule=job.job_id, service=request["claimed_by"], host=service["host"], fire=fire["id"]
                )
            )
            out(
                _("follow it with: {status_command}, then {runs_command}").format(
                    status_command="robo schedule status",
                    runs_command=f"robo runs list --workflow '{job.workflow}'",
                )
            )
            return 0
        time.sleep(0.2)
    err(
        _(
            "error: the service did not take the request within {wait} (request #{request} stays queued)"
        ).format(wait=format_duration(wait), request=request_id)
    )
    return 1


def _who() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = "?"
    return f"{user}@{socket.gethostname()}"


__all__ = [
    "list_schedules",
    "local_time",
    "print_schedules",
    "print_status",
    "run_now",
    "service_status",
    "set_paused",
]
