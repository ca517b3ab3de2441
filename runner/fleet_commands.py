"""The `robo db` commands: the database the run store, the schedule service and a fleet's jobs share.

Apart from `runner/cli.py` (which adds them to `robo`) because they are a group of their own. The database is
the run store's (`--store`, `ROBO_STORE_URL`, else robo.toml's `store`, else SQLite in the logs folder); its
password comes from the environment only (robo.toml refuses one).
"""

from __future__ import annotations

import json

from robots.kit import N_, RoboError, _
from runner.command_line import (
    COMMAND,
    FormatOption,
    LogsOption,
    ProjectOption,
    StoreOption,
    command_group,
    out,
    say_error,
    store_of,
)
from runner.events import ExitCode

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
    import typer
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
