"""The `robo schedule` commands: they parse their options and call `runner.schedule`, which does the work.

Apart from `runner/cli.py` (which adds them to `robo`) because they are a group of their own: the schedule
service and its database, not one run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from robots.kit import N_, _
from runner.command_line import (
    COMMAND,
    FormatOption,
    LogsOption,
    StoreOption,
    command_group,
    err,
    out,
    store_of,
)
from runner.events import ExitCode

if TYPE_CHECKING:
    from runner.schedule import LauncherFactory

schedule_app = command_group(N_("Run workflows unattended, on the times their 'schedule:' declares."))

WorkflowsArgument = Annotated[
    Path, typer.Argument(help=N_("The folder of workflow files."), envvar="ROBO_WORKFLOWS", show_envvar=False)
]
WorkflowsOption = Annotated[
    Path, typer.Option("--workflows", help=N_("The folder of workflow files."), envvar="ROBO_WORKFLOWS")
]
ScheduleArgument = Annotated[
    str, typer.Argument(help=N_("A schedule (file/name), or a workflow: all its schedules."))
]


@schedule_app.command(
    "serve",
    help=N_("Start the workflows of a folder on their schedules, until SIGTERM or Ctrl+C (logs on stdout)."),
    **COMMAND,
)
def schedule_serve(
    folder: WorkflowsArgument = Path("workflows"),
    logs: LogsOption = None,
    store: StoreOption = None,
    poll: Annotated[
        float, typer.Option(help=N_("Seconds between two looks at the folder for changes."))
    ] = 3.0,
    stop_timeout: Annotated[
        float,
        typer.Option("--stop-timeout", help=N_("On SIGTERM, seconds the runs in progress have to finish.")),
    ] = 300.0,
    term_timeout: Annotated[
        float,
        typer.Option("--term-timeout", help=N_("Seconds a run has to stop after SIGTERM, before SIGKILL.")),
    ] = 30.0,
) -> None:
    from runner.schedule import ScheduleService, setup_logging

    if not folder.is_dir():
        err(_("error: {folder} is not a folder of workflows").format(folder=folder))
        raise typer.Exit(ExitCode.USAGE)
    logs, url = store_of(None, logs, store)
    setup_logging()
    service = ScheduleService(
        folder,
        store_url=url,
        logs_dir=logs,
        poll_seconds=poll,
        stop_timeout=stop_timeout,
        term_timeout=term_timeout,
        launcher=launcher_for(url),
    )
    raise typer.Exit(service.serve())


def launcher_for(url: str) -> LauncherFactory:
    """What starts the service's fires: on a fleet's database (PostgreSQL with the fleet's tables, `robo db
    upgrade`), the fleet's workers (`runner.fleet.FleetLauncher`); elsewhere a `robo run` process here."""
    import logging

    from runner.schedule import FireLauncher

    if not url.startswith("postgresql"):
        return FireLauncher
    try:
        from runner.fleet import FleetLauncher, has_fleet
    except ImportError:  # Procrastinate is not installed: no fleet here
        return FireLauncher
    if not has_fleet(url):
        return FireLauncher
    logging.getLogger("robo.schedule").info(
        "%s", _("the run store is a fleet's: each due run is sent to the fleet's workers (robo worker)")
    )
    return FleetLauncher


@schedule_app.command(
    "list",
    help=N_(
        "Every schedule: its next fire times (in its time zone), whether it is paused, the last run's status."
    ),
    **COMMAND,
)
def schedule_list(
    folder: WorkflowsArgument = Path("workflows"),
    count: Annotated[int, typer.Option(help=N_("How many next fire times to show."))] = 3,
    logs: LogsOption = None,
    store: StoreOption = None,
    fmt: FormatOption = "text",
) -> None:
    from runner.language import print_diagnostics
    from runner.schedule import list_schedules, print_schedules

    rows, catalogue = list_schedules(folder, store_of(None, logs, store)[1], count=count)
    catalogue.close()
    if fmt == "json":
        out(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    else:
        print_schedules(rows, out)
        if not rows:
            err(_("no schedules in {folder}").format(folder=folder))
    print_diagnostics(catalogue.diagnostics, catalogue.sources, "text", out, err)
    raise typer.Exit(ExitCode.ERROR if catalogue.diagnostics else ExitCode.OK)


@schedule_app.command(
    "status",
    help=N_(
        "Whether a schedule service is alive (pid, host, last heartbeat, schedules) and what it runs now."
    ),
    **COMMAND,
)
def schedule_status(logs: LogsOption = None, store: StoreOption = None, fmt: FormatOption = "text") -> None:
    from runner.schedule import print_status, service_status

    status = service_status(store_of(None, logs, store)[1])
    if fmt == "json":
        out(json.dumps(status, ensure_ascii=False, indent=2, default=str))
    else:
        print_status(status, out)
    raise typer.Exit(ExitCode.OK if any(row["alive"] for row in status["services"]) else ExitCode.ERROR)


@schedule_app.command(
    "run-now",
    help=N_(
        "Start a schedule's run now: through the service when it is alive, else here (waiting for its end)."
    ),
    **COMMAND,
)
def schedule_run_now(
    name: Annotated[
        str, typer.Argument(help=N_("A schedule (file/name), or a workflow that has one schedule."))
    ],
    folder: WorkflowsOption = Path("workflows"),
    direct: Annotated[
        bool, typer.Option("--direct", help=N_("Run here and wait, even when a service is alive."))
    ] = False,
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    from runner.schedule import run_now

    logs, url = store_of(None, logs, store)
    raise typer.Exit(run_now(name, folder, url, logs, out, err, direct=direct))


@schedule_app.command(
    "pause",
    help=N_(
        "Stop firing a schedule until it is resumed (kept in the database: the service honours it at once)."
    ),
    **COMMAND,
)
def schedule_pause(
    name: ScheduleArgument,
    folder: WorkflowsOption = Path("workflows"),
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    from runner.schedule import set_paused

    raise typer.Exit(set_paused(name, folder, store_of(None, logs, store)[1], True, out, err))


@schedule_app.command(
    "resume",
    help=N_("Fire a paused schedule again, from its next fire time (missed fires are not caught up)."),
    **COMMAND,
)
def schedule_resume(
    name: ScheduleArgument,
    folder: WorkflowsOption = Path("workflows"),
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    from runner.schedule import set_paused

    raise typer.Exit(set_paused(name, folder, store_of(None, logs, store)[1], False, out, err))
