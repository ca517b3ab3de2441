"""The `robo db` commands: the database the run store, the schedule service and a fleet's jobs share.

Apart from `runner/cli.py` (which adds them to `robo`) because they are a group of their own. The database is
the run store's (`--store`, `ROBO_STORE_URL`, else robo.toml's `store`, else SQLite in the logs folder); its
password comes from the environment only (robo.toml refuses one).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from robots.kit import N_, ConfigurationError, RoboError, _
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
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    """Do the fleet's jobs: the items of the runs' shared loops, until stopped (SIGTERM: the current item is
    finished, the rest given back)."""
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
        err(
            _("worker {name} doing the jobs of {queues} from {url}").format(
                name=name or "?", queues=", ".join(wanted) or _("every queue"), url=shown
            )
        )
        run_worker(url, EngineLanes(url, folder), queues=wanted, concurrency=concurrency, name=name)
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
