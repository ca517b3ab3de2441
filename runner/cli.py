"""`robo`: the one command for everything a user does (run, validate, actions, schema, runs, audit, secrets).

Heavy modules (the engine, SQLAlchemy, robots) are imported inside each command so that `robo --help` starts fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from robots.kit import printable, set_language
from runner.events import ExitCode

if TYPE_CHECKING:
    from runner.record import RunStore

app = typer.Typer(
    name="robo",
    help="Rob'O: robotic process automation with workflows written in YAML.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
runs_app = typer.Typer(help="Review past runs.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the audit log of a run.", no_args_is_help=True)
secrets_app = typer.Typer(help="Store secrets in the system keyring.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(audit_app, name="audit")
app.add_typer(secrets_app, name="secrets")
schedule_app = typer.Typer(
    help="Run workflows unattended, on the times their 'schedule:' declares.", no_args_is_help=True
)
app.add_typer(schedule_app, name="schedule")


LogsOption = Annotated[
    Path, typer.Option("--logs", help="Folder where runs write their records.", envvar="ROBO_LOGS")
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="SQLAlchemy URL of the run store (default: SQLite in the logs folder).",
        envvar="ROBO_STORE_URL",
    ),
]
FormatOption = Annotated[str, typer.Option("--format", help="text or json.")]
LangOption = Annotated[str | None, typer.Option(help="Messages: fr or en (default: ROBO_LANG, the locale).")]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Also do again the items to check, and the items other runs of the workflow entered"
        " (they may be entered twice, then).",
    ),
]


@app.callback()
def _language(lang: LangOption = None) -> None:
    set_language(lang)  # refused (exit 1, with a hint) when Rob'O does not speak it


def _out(text: str = "") -> None:
    typer.echo(printable(text))  # what comes from a run's data may not drive the terminal


def _err(text: str) -> None:
    typer.echo(printable(text), err=True)


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Workflow files (or folders of them) to check.")],
    fmt: FormatOption = "text",
) -> None:
    """Check workflows without running them; every error with its file:line:col."""
    from runner.language import print_validation

    failed = print_validation(paths, fmt, _out, _err)
    raise typer.Exit(ExitCode.ERROR if failed else ExitCode.OK)


@app.command()
def run(
    workflow: Annotated[Path, typer.Argument(help="The workflow file to run.")],
    inputs: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help="An input value, name=value (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Walk the plan without actions that change anything.")
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option("--resume", help="Continue this interrupted or failed run: only what is not done yet."),
    ] = None,
    force: ForceOption = False,
    new: Annotated[
        bool,
        typer.Option(
            "--new",
            help="Start a new run even when a run of this workflow with the same inputs crashed or was "
            "interrupted (by default that run is resumed).",
        ),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="When other runs of this workflow fill its 'concurrency', wait for one to end."
        ),
    ] = False,
    logs: LogsOption = Path("logs"),
    store: StoreOption = None,
    headed: Annotated[bool, typer.Option("--headed", help="Show the browser window.")] = False,
    slow_mo: Annotated[
        float, typer.Option("--slow-mo", help="Slow each browser action by this many ms.")
    ] = 0.0,
    fmt: FormatOption = "text",
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show a line for each step, not only for each item.")
    ] = False,
) -> None:
    """Run a workflow."""
    from robots.kit import RoboError
    from runner.engine import parse_input_assignments
    from runner.record import ConsoleSink, output_may_be_closed
    from runner.run import RunOptions, print_outcome, run_workflow

    try:
        given = parse_input_assignments(inputs or [])
    except RoboError as exc:
        _err(f"error: {exc.message}" + (f"\n  hint: {exc.hint}" if exc.hint else ""))
        raise typer.Exit(ExitCode.USAGE) from None
    browser: dict[str, Any] = {}
    if headed:
        browser["headless"] = False
    if slow_mo:
        browser["slow_mo"] = slow_mo
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
    )
    try:
        outcome = run_workflow(workflow, options)
    except RoboError as exc:  # the run store cannot be opened: nothing could be recorded
        _err(f"error: {exc.message}" + (f"\n  hint: {exc.hint}" if exc.hint else ""))
        raise typer.Exit(ExitCode.ERROR) from None
    except Exception as exc:
        if debug:
            raise
        with output_may_be_closed():
            _err(f"internal error: {type(exc).__name__}: {exc}\n  (run again with --debug for the traceback)")
        raise typer.Exit(ExitCode.SOFTWARE) from None
    with output_may_be_closed():
        print_outcome(outcome, fmt, _out, _err)
        if fmt != "json" and outcome.run_id is not None and outcome.counts.get("items_to_check"):
            _print_items_to_check(outcome.run_id, logs, store)
    raise typer.Exit(outcome.exit_code)


@app.command()
def actions(
    robot: Annotated[str | None, typer.Argument(help="Only this robot's actions.")] = None,
    fmt: FormatOption = "text",
) -> None:
    """The reference of every action: parameters, types, defaults and what they do."""
    from runner.language import print_actions

    if not print_actions(robot, _out, _err, fmt=fmt):
        raise typer.Exit(ExitCode.ERROR)


@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Export the JSON Schema of the workflow language (for editor completion)."""
    from runner.language import workflow_schema

    text = json.dumps(workflow_schema(), ensure_ascii=False, indent=2, default=str)
    if output is None:
        _out(text)
    else:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            _err(f"error: the schema could not be written to {output}: {exc.strerror or exc}")
            raise typer.Exit(ExitCode.ERROR) from None
        _err(f"schema written to {output}")


def _store(logs: Path, store: str | None) -> RunStore:
    from runner.review import open_store

    run_store = open_store(logs, store, _err)
    if run_store is None:
        raise typer.Exit(ExitCode.ERROR)
    return run_store


@runs_app.command("list")
def runs_list(
    workflow: Annotated[str | None, typer.Option(help="Only runs of this workflow.")] = None,
    status: Annotated[str | None, typer.Option(help="Only runs with this status.")] = None,
    since: Annotated[str | None, typer.Option(help="Only runs started since this date (YYYY-MM-DD).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many runs.")] = 50,
    logs: LogsOption = Path("logs"),
    store: StoreOption = None,
    fmt: FormatOption = "text",
) -> None:
    """List runs, newest first."""
    from runner.review import print_runs

    with _store(logs, store) as run_store:
        print_runs(run_store, _out, _err, workflow=workflow, status=status, since=since, limit=limit, fmt=fmt)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="The run's id (or a unique beginning of it).")],
    logs: LogsOption = Path("logs"),
    store: StoreOption = None,
    fmt: FormatOption = "text",
) -> None:
    """Show one run: its status, steps and work items."""
    from runner.review import print_run

    with _store(logs, store) as run_store:
        code = print_run(run_store, run_id, _out, _err, fmt=fmt)
    if code:
        raise typer.Exit(code)


@runs_app.command("retry")
def runs_retry(
    run_id: Annotated[str, typer.Argument(help="The run whose unfinished and failed items to do again.")],
    force: ForceOption = False,
    logs: LogsOption = Path("logs"),
    store: StoreOption = None,
) -> None:
    """Run again what a run did not finish: its failed items and any interrupted one (done items are kept).

    An item that may have been entered before it failed is checked first with the loop's `already_done` steps;
    without them it stays to check (see `robo runs mark`), unless --force.
    """
    from runner.review import find_run

    with _store(logs, store) as run_store:
        record = find_run(run_store, run_id, _err)
    if record is None:
        raise typer.Exit(ExitCode.ERROR)
    run(Path(record.workflow_file), resume=record.id, force=force, logs=logs, store=store)


@runs_app.command("mark")
def runs_mark(
    run_id: Annotated[str, typer.Argument(help="The run's id (or a unique beginning of it).")],
    key: Annotated[str, typer.Argument(help="The item's key, as `robo runs show` lists it.")],
    done: Annotated[bool, typer.Option("--done", help="It is entered: do not do it again.")] = False,
    redo: Annotated[bool, typer.Option("--redo", help="It is not entered: the next retry does it.")] = False,
    loop: Annotated[
        str | None, typer.Option("--loop", help="The loop (e.g. steps[1]), when several have this key.")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who checked (default: the user's login).")] = None,
    logs: LogsOption = Path("logs"),
    store: StoreOption = None,
) -> None:
    """Say what became of an item to check, after looking for it in the intranet (recorded in the audit log)."""
    from runner.review import mark_item

    if done == redo:
        _err("error: say --done (it is entered) or --redo (it is not), one of them")
        raise typer.Exit(ExitCode.USAGE)
    with _store(logs, store) as run_store:
        code = mark_item(run_store, run_id, key, _err, done=done, loop=loop, by=by)
    if code:
        raise typer.Exit(code)


def _print_items_to_check(run_id: str, logs: Path, store: str | None) -> None:
    """The retry summary's list of items to check, apart from the failed ones."""
    from runner.review import print_items_to_check

    with _store(logs, store) as run_store:
        print_items_to_check(run_store, run_id, _err)


@runs_app.command("report")
def runs_report(
    run_id: Annotated[str, typer.Argument(help="The run's id (or a unique beginning of it).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write it (default: report.html in the run's folder)."),
    ] = None,
    logs: LogsOption = Path("logs"),
    store: StoreOption = None,
) -> None:
    """Write the run's HTML report again (it is written at the end of every run): one file, screenshots inside."""
    from runner.review import rewrite_report

    with _store(logs, store) as run_store:
        code = rewrite_report(run_store, run_id, output, _out, _err)
    if code:
        raise typer.Exit(code)


@audit_app.command("verify")
def audit_verify(
    target: Annotated[str, typer.Argument(help="A run id, or the path of an audit.jsonl file.")],
    logs: LogsOption = Path("logs"),
    store: StoreOption = None,
) -> None:
    """Prove that a run's audit log was not changed since it was written (exit 0 only then; 3: older, unkeyed log).

    Every record's MAC is checked with the audit key, and the log's head against its seal (audit.seal beside it)
    and the run store."""
    from runner.review import verify_audit

    raise typer.Exit(verify_audit(target, logs, store, _out, _err))


@secrets_app.command("set")
def secrets_set(
    name: Annotated[str, typer.Argument(help="The secret's name, as the workflow lists it.")],
) -> None:
    """Store a secret in the system keyring (asks for the value without echoing it)."""
    from robots.kit import ConfigurationError
    from runner.engine import store_in_keyring

    value = typer.prompt(f"value of {name}", hide_input=True, confirmation_prompt=True)
    try:
        store_in_keyring(name, value)
    except ConfigurationError as exc:
        _err(f"error: {exc.message}\n  hint: {exc.hint}")
        raise typer.Exit(ExitCode.ERROR) from None
    _err(f"secret '{name}' stored in the system keyring")


WorkflowsArgument = Annotated[
    Path, typer.Argument(help="The folder of workflow files.", envvar="ROBO_WORKFLOWS", show_envvar=False)
]
WorkflowsOption = Annotated[
    Path, typer.Option("--workflows", help="The folder of workflow files.", envvar="ROBO_WORKFLOWS")
]


@schedule_app.command("serve")
def schedule_serve(
    folder: WorkflowsArgument = Path("workflows"),
    logs: LogsOption = Path("logs"),
    store: StoreOption = None,
    poll: Annotated[float, typer.Option(help="Seconds between two looks at the folder for changes.")] = 3.0,
    stop_timeout: Annotated[
        float, typer.Option("--stop-timeout", help="On SIGTERM, seconds the runs in progress have to finish.")
    ] = 300.0,
    term_timeout: Annotated[
        float, typer.Option("--term-timeout", help="Seconds a run has to stop after SIGTERM, before SIGKILL.")
    ] = 30.0,
) -> None:
    """Start the workflows of a folder on their schedules, until SIGTERM or Ctrl+C (logs on stdout)."""
    from runner.record import default_store_url
    from runner.schedule import ScheduleService, setup_logging

    if not folder.is_dir():
        _err(f"error: {folder} is not a folder of workflows")
        raise typer.Exit(ExitCode.USAGE)
    setup_logging()
    service = ScheduleService(
        folder,
        store_url=store or default_store_url(logs),
        logs_dir=logs,
        poll_seconds=poll,
        stop_timeout=stop_timeout,
        term_timeout=term_timeout,
    )
    raise typer.Exit(service.serve())


@schedule_app.command("list")
def schedule_list(
    folder: WorkflowsArgument = Path("workflows"),
    count: Annotated[int, typer.Option(help="How many next fire times to show.")] = 3,
    logs: LogsOption = Path("logs"),
    store: StoreOption = None,
    fmt: FormatOption = "text",
) -> None:
    """Every schedule: its next fire times (in its time zone), whether it is paused, the last run's status."""
    from runner.language import print_diagnostics
    from runner.record import default_store_url
    from runner.schedule import list_schedules, print_schedules

    rows, catalogue = list_schedules(folder, store or default_store_url(logs), count=count)
    catalogue.close()
    if fmt == "json":
        _out(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    else:
        print_schedules(rows, _out)
        if not rows:
            _err(f"no schedules in {folder}")
    print_diagnostics(catalogue.diagnostics, catalogue.sources, "text", _out, _err)
    raise typer.Exit(ExitCode.ERROR if catalogue.diagnostics else ExitCode.OK)


@schedule_app.command("status")
def schedule_status(
    logs: LogsOption = Path("logs"), store: StoreOption = None, fmt: FormatOption = "text"
) -> None:
    """Whether a schedule service is alive (pid, host, last heartbeat, schedules) and what it runs now."""
    from runner.record import default_store_url
    from runner.schedule import print_status, service_status

    status = service_status(store or default_store_url(logs))
    if fmt == "json":
        _out(json.dumps(status, ensure_ascii=False, indent=2, default=str))
    else:
        print_status(status, _out)
    raise typer.Exit(ExitCode.OK if any(row["alive"] for row in status["services"]) else ExitCode.ERROR)


@schedule_app.command("run-now")
def schedule_run_now(
    name: Annotated[str, typer.Argument(help="A schedule (file/name), or a workflow that has one schedule.")],
    folder: WorkflowsOption = Path("workflows"),
    direct: Annotated[
        bool, typer.Option("--direct", help="Run here and wait, even when a service is alive.")
    ] = False,
    logs: LogsOption = Path("logs"),
    store: StoreOption = None,
) -> None:
    """Start a schedule's run now: through the service when it is alive, else here (waiting for its end)."""
    from runner.record import default_store_url
    from runner.schedule import run_now

    url = store or default_store_url(logs)
    raise typer.Exit(run_now(name, folder, url, logs, _out, _err, direct=direct))


@schedule_app.command("pause")
def schedule_pause(
    name: Annotated[str, typer.Argument(help="A schedule (file/name), or a workflow: all its schedules.")],
    folder: WorkflowsOption = Path("workflows"),
    logs: LogsOption = Path("logs"),
    store: StoreOption = None,
) -> None:
    """Stop firing a schedule until it is resumed (kept in the database: the service honours it at once)."""
    from runner.record import default_store_url
    from runner.schedule import set_paused

    raise typer.Exit(set_paused(name, folder, store or default_store_url(logs), True, _out, _err))


@schedule_app.command("resume")
def schedule_resume(
    name: Annotated[str, typer.Argument(help="A schedule (file/name), or a workflow: all its schedules.")],
    folder: WorkflowsOption = Path("workflows"),
    logs: LogsOption = Path("logs"),
    store: StoreOption = None,
) -> None:
    """Fire a paused schedule again, from its next fire time (missed fires are not caught up)."""
    from runner.record import default_store_url
    from runner.schedule import set_paused

    raise typer.Exit(set_paused(name, folder, store or default_store_url(logs), False, _out, _err))


def main() -> None:
    """Entry point of the `robo` console script."""
    from robots.kit import RoboError

    try:
        app()
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    except RoboError as exc:  # e.g. a run store that cannot be opened, met by any command
        _err(f"error: {exc.message}" + (f"\n  hint: {exc.hint}" if exc.hint else ""))
        sys.exit(ExitCode.ERROR)


if __name__ == "__main__":
    main()
