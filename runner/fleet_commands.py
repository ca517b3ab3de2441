"""The `robo db` commands (the database the run store, the schedule service and a fleet's jobs share) and the
`robo fleet` commands (how the fleet stands).

Apart from `runner/cli.py` (which adds them to `robo`) because they are a group of their own. The database is
the run store's (`--store`, `ROBO_STORE_URL`, else robo.toml's `store`, else SQLite in the logs folder); its
password comes from the environment only (robo.toml refuses one).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from robots.kit import N_, ConfigurationError, RoboError, _, ngettext
from runner.command_line import (
    COMMAND,
    FormatOption,
    LogsOption,
    ProjectOption,
    StoreOption,
    command_group,
    err,
    out,
    say_error,
    store_of,
)
from runner.events import ExitCode

if TYPE_CHECKING:
    from runner.engine import Distributor
    from runner.fleet import FleetStatus
    from runner.run import StartedRun

db_app = command_group(N_("Manage the database of the run store, the schedule service and a fleet's jobs."))


@db_app.command(
    "upgrade",
    help=N_(
        "Create or upgrade the tables of the run store, of the schedule service and, on PostgreSQL, of the"
        " fleet's jobs (Procrastinate). Safe to run again, and from several machines at once."
    ),
    **COMMAND,
)
def db_upgrade(
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
    fmt: FormatOption = "text",
) -> None:
    from sqlalchemy.engine import make_url

    from runner.fleet import upgrade_databases

    _folder, url = store_of(project, logs, store)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        parts = upgrade_databases(url)
    except RoboError as exc:
        say_error(exc)
        raise typer.Exit(ExitCode.ERROR) from None
    if fmt == "json":
        rows = [{"name": part.name, "before": part.before, "after": part.after} for part in parts]
        out(json.dumps({"database": shown, "parts": rows}, ensure_ascii=False, indent=2))
        return
    out(_("database {url}:").format(url=shown))
    for part in parts:
        if part.before is None:
            state = _("created at version {after}").format(after=part.after)
        elif part.before == part.after:
            state = _("up to date (version {after})").format(after=part.after)
        else:
            state = _("upgraded from version {before} to {after}").format(
                before=part.before, after=part.after
            )
        out("  " + _("{part}: {state}").format(part=part.name, state=state))


fleet_app = command_group(
    N_("See a fleet's workers, job queues and distributed loops (PostgreSQL run store).")
)


@fleet_app.command(
    "status",
    help=N_(
        "The fleet's workers (alive, stopped or silent; their queues, last heartbeat, current run and item), the"
        " jobs waiting in each queue, the stalled jobs and the distributed loops in progress. Exit code 0 when"
        " all is well, 3 when a worker is silent or a job is stalled, 1 when the fleet cannot be read."
    ),
    **COMMAND,
)
def fleet_status_command(
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
    fmt: FormatOption = "text",
) -> None:
    from runner.fleet import fleet_status, needs_postgres
    from runner.record import RunStore

    _folder, url = store_of(project, logs, store)
    try:
        if not url.startswith("postgresql"):
            raise needs_postgres()  # before opening: a SQLite file is not made for nothing
        with RunStore(url) as run_store:
            status = fleet_status(run_store)
    except RoboError as exc:
        say_error(exc)
        raise typer.Exit(ExitCode.ERROR) from None
    if fmt == "json":
        out(json.dumps(status.as_json(), ensure_ascii=False, indent=2))
    else:
        print_fleet_status(status)
    raise typer.Exit(ExitCode.PARTLY if status.needs_attention else ExitCode.OK)


@fleet_app.command(
    "forget",
    help=N_(
        "Remove a stopped or silent worker from the fleet's list (a machine taken out of the fleet), so that"
        " robo fleet status no longer reports it. A live worker is refused."
    ),
    **COMMAND,
)
def fleet_forget(
    name: Annotated[str, typer.Argument(help=N_("The worker's name, as robo fleet status shows it."))],
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    from runner.fleet import FleetWorkers, needs_postgres
    from runner.record import RunStore

    _folder, url = store_of(project, logs, store)
    try:
        if not url.startswith("postgresql"):
            raise needs_postgres()
        with RunStore(url) as run_store:
            forgotten = FleetWorkers(run_store).forget(name)
    except RoboError as exc:
        say_error(exc)
        raise typer.Exit(ExitCode.ERROR) from None
    if not forgotten:
        err(_("no worker is named {name} in this database").format(name=name))
        raise typer.Exit(ExitCode.ERROR)
    out(_("worker {name} forgotten").format(name=name))


def print_fleet_status(status: FleetStatus) -> None:
    """The fleet as `robo fleet status` writes it."""
    from robots.kit import format_duration, format_number
    from runner.fleet import worker_state_text

    if not status.workers:
        out(_("no worker has registered in this database yet (robo worker)"))
    else:
        out(
            _("workers: {alive} alive, {silent} silent, {total} registered").format(
                alive=len(status.alive), silent=len(status.silent), total=len(status.workers)
            )
        )
    for row in status.workers:
        worker = row.worker
        queues = ", ".join(worker.queues) if worker.queues else _("every queue")
        out(
            "  "
            + _(
                "{name}: {state} (host {host}, pid {pid}), queues: {queues}, {concurrency} at once,"
                " last heartbeat {age} ago"
            ).format(
                name=worker.name,
                state=worker_state_text(worker.state),
                host=worker.host,
                pid=worker.pid,
                queues=queues,
                concurrency=worker.concurrency,
                age=format_duration(worker.beat_age),
            )
        )
        for item in row.doing:
            out(
                "    "
                + _("doing item {key} of run {run_id} (loop {loop})").format(
                    key=item.key, run_id=item.run_id, loop=item.loop
                )
            )
        if row.claimed:
            out(
                "    "
                + ngettext("{n} more item claimed", "{n} more items claimed", row.claimed).format(
                    n=format_number(row.claimed)
                )
            )
    if status.queues:
        out(_("job queues:"))
    for queue in status.queues:
        out(
            "  "
            + _("{queue}: {todo} waiting, {doing} being done, {failed} failed").format(
                queue=queue.name,
                todo=format_number(queue.todo),
                doing=format_number(queue.doing),
                failed=format_number(queue.failed),
            )
        )
    if status.stalled:
        out(_("stalled jobs (their worker stopped beating; the next retry gives them to another worker):"))
    for job in status.stalled:
        out(
            "  "
            + _("job {id} ({task}, queue {queue}): run {run_id}, loop {loop}").format(
                id=job.id, task=job.task, queue=job.queue, run_id=job.run_id or "-", loop=job.loop or "-"
            )
        )
    if status.loops:
        out(_("distributed loops in progress:"))
    for loop in status.loops:
        tally = loop.tally
        out(
            "  "
            + _(
                "run {run_id}, loop {loop}: {finished} finished, {held} being done, {pending} waiting,"
                " {expired} with an expired lease"
            ).format(
                run_id=loop.run_id,
                loop=loop.loop,
                finished=format_number(tally.finished),
                held=format_number(tally.held),
                pending=format_number(tally.pending),
                expired=format_number(tally.expired),
            )
        )


def worker(
    queues: Annotated[
        str | None,
        typer.Option(
            "--queues",
            help=N_(
                "The queues whose jobs this worker does, separated by commas (e.g. browser,desktop); all when"
                " not given."
            ),
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=32, help=N_("How many jobs it does at once."))
    ] = 1,
    name: Annotated[
        str | None, typer.Option("--name", help=N_("Its name in the fleet (the run's report shows it)."))
    ] = None,
    lease: Annotated[
        float | None,
        typer.Option(
            "--lease",
            min=2,
            max=86400,
            help=N_(
                "Seconds an item stays this worker's without news from it (renewed every third of it while it"
                " works): after that, another worker takes the item over, checking it first."
            ),
        ),
    ] = None,
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    """Do the fleet's jobs: the items of the runs' shared loops and the runs a schedule service sends, until
    stopped (SIGTERM: the current item is finished, the rest given back)."""
    from sqlalchemy.engine import make_url

    folder, url = store_of(project, logs, store)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        from runner.fleet import EngineLanes, has_fleet, run_worker

        if not has_fleet(url):
            raise ConfigurationError(
                _(
                    "robo worker needs the fleet's database: {url} is not a PostgreSQL run store with its tables"
                ).format(url=shown),
                hint=_("set ROBO_STORE_URL to the fleet's PostgreSQL database, then run: robo db upgrade"),
            )
        wanted = [queue.strip() for queue in (queues or "").split(",") if queue.strip()]
        import sys

        from runner.schedule import setup_logging

        setup_logging(
            sys.stderr
        )  # the scheduled runs it does, one line each, as the schedule service logs them
        err(
            _("worker {name} doing the jobs of {queues} from {url}").format(
                name=name or "?", queues=", ".join(wanted) or _("every queue"), url=shown
            )
        )
        leasing = {"lease_seconds": lease} if lease is not None else {}
        run_worker(
            url,
            EngineLanes(url, folder),
            queues=wanted,
            concurrency=concurrency,
            name=name,
            logs_dir=folder,
            **leasing,
        )
    except ImportError:
        say_error(
            ConfigurationError(
                _("the fleet's jobs need Procrastinate, which is not installed here"),
                hint=_("install it with: pip install 'robo-rpa[postgres]'"),
            )
        )
        raise typer.Exit(ExitCode.ERROR) from None
    except RoboError as exc:
        say_error(exc)
        raise typer.Exit(ExitCode.ERROR) from None


def fleet_distributor_for(url: str, *, every_loop: bool) -> Callable[[StartedRun], Distributor | None] | None:
    """What shares a run's loops out to the fleet: only on PostgreSQL, where a fleet can be (Procrastinate and its
    tables are needed then, not before); `--fleet` elsewhere is refused before the run starts."""
    refusal = ConfigurationError(
        _("robo run --fleet needs the fleet's database: a PostgreSQL run store with its tables"),
        hint=_("set ROBO_STORE_URL to the fleet's PostgreSQL database, then run: robo db upgrade"),
    )
    if not url.startswith("postgresql"):
        if every_loop:
            raise refusal
        return None
    try:
        from runner.fleet import fleet_distributor, has_fleet
    except ImportError:
        if every_loop:
            raise refusal from None
        return None
    if every_loop and not has_fleet(url):
        raise refusal
    return fleet_distributor(every_loop=every_loop)
