"""`robo record`: the recorder's command, apart from `runner/cli.py` (which adds it to `robo`): a thin layer over
`runner.recorder`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robots.kit import N_, RoboError
from runner.command_line import err, say_error
from runner.events import ExitCode

RECORD_HELP = N_(
    "Record what you do in a browser window as a workflow: open the address, act, then close the browser."
)


def record(
    url: Annotated[
        str, typer.Argument(help=N_("The address of the first page, e.g. http://intranet/connexion."))
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help=N_("The workflow file to write."))],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help=N_(
                "A spreadsheet (.xlsx or .csv): the values typed that its first row holds become its columns, and "
                "the form's steps a loop over its rows."
            ),
        ),
    ] = None,
    fill_form: Annotated[
        bool,
        typer.Option(
            "--fill-form/--field-by-field",
            help=N_("Fold three fields or more filled in a row into one fill_form step (the default)."),
        ),
    ] = True,
    headless: Annotated[bool, typer.Option("--headless", hidden=True)] = False,
) -> None:
    from runner.recorder import RecordingRequest, run_recording

    request = RecordingRequest(url, output, data=data, fold=fill_form, headless=headless)
    try:
        workflow = run_recording(request, err)
    except RoboError as exc:
        say_error(exc)
        raise typer.Exit(ExitCode.ERROR) from None
    raise typer.Exit(ExitCode.OK if workflow.valid else ExitCode.ERROR)
