"""`robo`: the one command for everything a user does (run, validate, actions, schema, runs, audit, secrets).

Heavy modules (the engine, SQLAlchemy, robots) are imported inside each command so that `robo --help` starts fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from robots.kit import N_, RoboError, _
from runner.command_line import (
    COMMAND,
    ForceOption,
    FormatOption,
    LangOption,
    LocalizedGroup,
    LogsOption,
    ProjectOption,
    StoreOption,
    choose_language,
    command_group,
    open_run_store,
    project_of,
    records,
)
from runner.command_line import err as _err
from runner.command_line import out as _out
from runner.command_line import say_error as _error
from runner.console_commands import DASHBOARD_HELP, dashboard
from runner.events import ExitCode
from runner.fleet_commands import db_app, fleet_app, fleet_distributor_for, worker
from runner.schedule_commands import schedule_app
from runner.users_commands import users_app

app = typer.Typer(
    name="robo",
    help=N_("Rob'O: robotic process automation with workflows written in YAML."),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=LocalizedGroup,
)
runs_app = command_group(N_("Review past runs."))
audit_app = command_group(N_("Check the audit log of a run."))
secrets_app = command_group(N_("Store secrets in the system keyring."))
app.add_typer(runs_app, name="runs")
app.add_typer(audit_app, name="audit")
app.add_typer(secrets_app, name="secrets")
app.add_typer(schedule_app, name="schedule")
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")
app.command("dashboard", help=DASHBOARD_HELP, **COMMAND)(dashboard)
app.command(
    "worker",
    help=N_(
        "Do the fleet's jobs: the items of the runs' shared loops and the runs a schedule service sends, until"
        " stopped (SIGTERM: the current item is finished, the rest given back)."
    ),
    **COMMAND,
)(worker)
app.add_typer(fleet_app, name="fleet")


@app.callback()
def _language(lang: LangOption = None) -> None:
    choose_language(lang)


@app.command(help=N_("Check workflows without running them; every error with its file:line:col."), **COMMAND)
def validate(
    paths: Annotated[list[Path], typer.Argument(help=N_("Workflow files (or folders of them) to check."))],
    fmt: FormatOption = "text",
) -> None:
    from runner.language import print_validation

    if paths:
        project_of(paths[0])  # its robo.toml's language, as `robo run` would speak
    failed = print_validation(paths, fmt, _out, _err)
    raise typer.Exit(ExitCode.ERROR if failed else ExitCode.OK)


@app.command(help=N_("Run a workflow."), **COMMAND)
def run(
    workflow: Annotated[Path, typer.Argument(help=N_("The workflow file to run."))],
    inputs: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help=N_("An input value, name=value (repeatable).")),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=N_("Walk the plan without actions that change anything."))
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume", help=N_("Continue this interrupted or failed run: only what is not done yet.")
        ),
    ] = None,
    force: ForceOption = False,
    new: Annotated[
        bool,
        typer.Option(
            "--new",
            help=N_(
                "Start a new run even when a run of this workflow with the same inputs crashed or was "
                "interrupted (by default that run is resumed)."
            ),
        ),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help=N_("When other runs of this workflow fill its 'concurrency', wait for one to end.")
        ),
    ] = False,
    logs: LogsOption = None,
    store: StoreOption = None,
    headed: Annotated[bool, typer.Option("--headed", help=N_("Show the browser window."))] = False,
    slow_mo: Annotated[
        float, typer.Option("--slow-mo", help=N_("Slow each browser action by this many ms."))
    ] = 0.0,
    light: Annotated[
        bool | None,
        typer.Option(
            "--light/--no-light",
            help=N_(
                "Load no images, fonts, media nor other hosts' requests, without animations (by default: when"
                " the browser is not shown); overrides the workflow's 'browser: {light: …}'."
            ),
        ),
    ] = None,
    virtual: Annotated[
        bool,
        typer.Option(
            "--virtual-display",
            help=N_(
                "Run inside a virtual screen of its own (Xvfb), for the desktop robot without a session."
            ),
        ),
    ] = False,
    fleet: Annotated[
        bool,
        typer.Option(
            "--fleet",
            help=N_(
                "Have the fleet's workers (robo worker) do the items of every loop of the workflow, not only"
                " of those with 'distribute:' (needs a PostgreSQL run store: ROBO_STORE_URL)."
            ),
        ),
    ] = False,
    fmt: FormatOption = "text",
    debug: Annotated[bool, typer.Option("--debug", help=N_("Show Python tracebacks."))] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help=N_("Show a line for each step, not only for each item."))
    ] = False,
) -> None:
    from runner.engine import parse_input_assignments
    from runner.record import ConsoleSink, default_store_url, output_may_be_closed
    from runner.run import RunOptions, logs_beside, print_outcome, run_workflow, virtual_display

    project = project_of(workflow)
    logs, store = logs or project.logs_folder(logs_beside(workflow)), store or project.store
    try:
        given = parse_input_assignments(inputs or [])
    except RoboError as exc:
        _error(exc)
        raise typer.Exit(ExitCode.USAGE) from None
    try:
        distributor = fleet_distributor_for(store or default_store_url(logs), every_loop=fleet)
    except RoboError as exc:
        _error(exc)
        raise typer.Exit(ExitCode.USAGE) from None
    browser: dict[str, Any] = {}
    if headed:
        browser["headless"] = False
    if slow_mo:
        browser["slow_mo"] = slow_mo
    if light is not None:
        browser["light"] = light
    options = RunOptions(
        inputs=given,
        dry_run=dry_run,
        logs_dir=logs,
        store_url=store,
        settings={"browser": browser} if browser else {},
        extra_sinks=[ConsoleSink(verbose=verbose)] if fmt == "text" else [],
        handle_signals=True,
        resume=resume,
        force=force,
        resume_unfinished=not new and not resume,
        wait=wait,
        say=_err,
        distributor=distributor,
    )
    try:
        with virtual_display(virtual):
            outcome = run_workflow(workflow, options)
    except (
        RoboError
    ) as exc:  # the run store or the virtual display cannot be opened: nothing could be recorded
        _error(exc)
        raise typer.Exit(ExitCode.ERROR) from None
    except Exception as exc:
        if debug:
            raise
        with output_may_be_closed():
            _err(
                _("internal error: {error}").format(error=f"{type(exc).__name__}: {exc}")
                + "\n  "
                + _("(run again with --debug for the traceback)")
            )
        raise typer.Exit(ExitCode.SOFTWARE) from None
    with output_may_be_closed():
        print_outcome(outcome, fmt, _out, _err)
        if fmt != "json" and outcome.run_id is not None and outcome.counts.get("items_to_check"):
            _print_items_to_check(outcome.run_id, logs, store)
    raise typer.Exit(outcome.exit_code)


@app.command(
    help=N_("The reference of every action: parameters, types, defaults and what they do."), **COMMAND
)
def actions(
    robot: Annotated[str | None, typer.Argument(help=N_("Only this robot's actions."))] = None,
    fmt: FormatOption = "text",
) -> None:
    from runner.language import print_actions

    if not print_actions(robot, _out, _err, fmt=fmt):
        raise typer.Exit(ExitCode.ERROR)


@app.command(help=N_("Export the JSON Schema of the workflow language (for editor completion)."), **COMMAND)
def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help=N_("Write to this file."))] = None,
) -> None:
    from runner.language import workflow_schema

    text = json.dumps(workflow_schema(), ensure_ascii=False, indent=2, default=str)
    if output is None:
        _out(text)
    else:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            _err(
                _("error: the schema could not be written to {file}: {reason}").format(
                    file=output, reason=exc.strerror or exc
                )
            )
            raise typer.Exit(ExitCode.ERROR) from None
        _err(_("schema written to {file}").format(file=output))


@runs_app.command("list", help=N_("List runs, newest first."), **COMMAND)
def runs_list(
    workflow: Annotated[str | None, typer.Option(help=N_("Only runs of this workflow."))] = None,
    status: Annotated[str | None, typer.Option(help=N_("Only runs with this status."))] = None,
    since: Annotated[
        str | None, typer.Option(help=N_("Only runs started since this date (YYYY-MM-DD)."))
    ] = None,
    limit: Annotated[int, typer.Option(help=N_("At most this many runs."))] = 50,
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
    fmt: FormatOption = "text",
) -> None:
    from runner.review import print_runs

    with open_run_store(project, logs, store) as run_store:
        print_runs(run_store, _out, _err, workflow=workflow, status=status, since=since, limit=limit, fmt=fmt)


RunIdArgument = Annotated[str, typer.Argument(help=N_("The run's id (a unique beginning of it, or 'last')."))]


@runs_app.command("show", help=N_("Show one run: its status, steps and work items."), **COMMAND)
def runs_show(
    run_id: RunIdArgument,
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
    fmt: FormatOption = "text",
) -> None:
    from runner.review import print_run

    with open_run_store(project, logs, store) as run_store:
        code = print_run(run_store, run_id, _out, _err, fmt=fmt)
    if code:
        raise typer.Exit(code)


@runs_app.command(
    "retry",
    help=N_(
        "Run again what a run did not finish: its failed items and any interrupted one (done items are kept).\n\n"
        "An item that may have been entered before it failed is checked first with the loop's `already_done` "
        "steps; without them it stays to check (see `robo runs mark`), unless --force."
    ),
    **COMMAND,
)
def runs_retry(
    run_id: Annotated[str, typer.Argument(help=N_("The run whose unfinished and failed items to do again."))],
    force: ForceOption = False,
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    from runner.review import find_run

    logs, store = records(project, logs, store)
    with open_run_store(None, logs, store) as run_store:
        record = find_run(run_store, run_id, _err)
    if record is None:
        raise typer.Exit(ExitCode.ERROR)
    run(Path(record.workflow_file), resume=record.id, force=force, logs=logs, store=store)


@runs_app.command(
    "mark",
    help=N_(
        "Say what became of an item to check, after looking for it in the intranet (recorded in the audit log)."
    ),
    **COMMAND,
)
def runs_mark(
    run_id: RunIdArgument,
    key: Annotated[str, typer.Argument(help=N_("The item's key, as `robo runs show` lists it."))],
    done: Annotated[bool, typer.Option("--done", help=N_("It is entered: do not do it again."))] = False,
    redo: Annotated[
        bool, typer.Option("--redo", help=N_("It is not entered: the next retry does it."))
    ] = False,
    loop: Annotated[
        str | None, typer.Option("--loop", help=N_("The loop (e.g. steps[1]), when several have this key."))
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help=N_("Who checked (default: the user's login)."))
    ] = None,
    comment: Annotated[
        str,
        typer.Option("--comment", help=N_("What you found, kept with the mark (e.g. the record's number).")),
    ] = "",
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    from runner.review import mark_item

    if done == redo:
        _err(_("error: say --done (it is entered) or --redo (it is not), one of them"))
        raise typer.Exit(ExitCode.USAGE)
    with open_run_store(project, logs, store) as run_store:
        code = mark_item(run_store, run_id, key, _err, done=done, loop=loop, by=by, comment=comment)
    if code:
        raise typer.Exit(code)


def _print_items_to_check(run_id: str, logs: Path, store: str | None) -> None:
    """The retry summary's list of items to check, apart from the failed ones."""
    from runner.review import print_items_to_check

    with open_run_store(None, logs, store) as run_store:
        print_items_to_check(run_store, run_id, _err)


@runs_app.command(
    "report",
    help=N_(
        "Write the run's HTML report again (it is written at the end of every run): one file, screenshots inside."
    ),
    **COMMAND,
)
def runs_report(
    run_id: RunIdArgument,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help=N_("Where to write it (default: report.html in the run's folder).")
        ),
    ] = None,
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    from runner.review import rewrite_report

    with open_run_store(project, logs, store) as run_store:
        code = rewrite_report(run_store, run_id, output, _out, _err)
    if code:
        raise typer.Exit(code)


@audit_app.command(
    "verify",
    help=N_(
        "Prove that a run's audit log was not changed since it was written (exit 0 only then; 3: older, unkeyed "
        "log).\n\nEvery record's MAC is checked with the audit key, and the log's head against its seal "
        "(audit.seal beside it) and the run store. With --operators, the console's operators' log instead (who "
        "did what from the console)."
    ),
    **COMMAND,
)
def audit_verify(
    target: Annotated[
        str | None, typer.Argument(help=N_("A run id, or the path of an audit.jsonl file."))
    ] = None,
    operators: Annotated[
        bool,
        typer.Option(
            "--operators", help=N_("Check the operators' log of the logs folder (the console's actions).")
        ),
    ] = False,
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    from runner.review import verify_audit

    logs_dir, url = records(project, logs, store)
    if operators == (target is not None):
        _err(_("error: give a run id or an audit log's path, or --operators (one of them)"))
        raise typer.Exit(ExitCode.USAGE)
    if target is None:
        from runner.console.access import operators_log_path
        from runner.record import AUDIT_SEAL_NAME

        path = operators_log_path(logs_dir)
        if not path.is_file():
            if path.with_name(AUDIT_SEAL_NAME).is_file():
                _err(
                    _("error: the operators' log {path} was removed (its seal is still there)").format(
                        path=path
                    )
                )
                raise typer.Exit(ExitCode.ERROR)
            _out(_("no operator action was recorded in {logs} yet").format(logs=logs_dir))
            raise typer.Exit(ExitCode.OK)
        target = str(path)
    raise typer.Exit(verify_audit(target, logs_dir, url, _out, _err))


@secrets_app.command(
    "set", help=N_("Store a secret in the system keyring (asks for the value without echoing it)."), **COMMAND
)
def secrets_set(
    name: Annotated[str, typer.Argument(help=N_("The secret's name, as the workflow lists it."))],
) -> None:
    from runner.engine import store_in_keyring

    value = typer.prompt(_("value of {name}").format(name=name), hide_input=True, confirmation_prompt=True)
    try:
        store_in_keyring(name, value)
    except RoboError as exc:
        _error(exc)
        raise typer.Exit(ExitCode.ERROR) from None
    _err(_("secret '{name}' stored in the system keyring").format(name=name))


def main() -> None:
    """Entry point of the `robo` console script."""
    try:
        app()
    except KeyboardInterrupt:
        _err(_("interrupted"))
        sys.exit(ExitCode.INTERRUPTED)
    except (
        RoboError
    ) as exc:  # e.g. a run store that cannot be opened, or an unknown --lang, met by any command
        _error(exc)
        sys.exit(ExitCode.ERROR)


if __name__ == "__main__":
    main()
