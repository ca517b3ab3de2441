"""`robo new` and `robo intranet`: starting a project (`runner.scaffold`), apart from `runner/cli.py`, which adds
them to `robo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robots.kit import N_, RoboError, _
from runner.command_line import err, out, say_error
from runner.events import ExitCode
from runner.scaffold import DEFAULT_TEMPLATE, INTRANET_PORT, MAIL_PORT

NEW_HELP = N_(
    "Create a project folder from a template: a commented workflow, its sample data and a README, ready to run"
    " against the training intranet (robo intranet)."
)
INTRANET_HELP = N_(
    "Start the training intranet and its mail server (or, with --bureau, the training desktop client), for"
    " trying a project; Ctrl+C stops them."
)


def new(
    name: Annotated[str, typer.Argument(help=N_("The new project's folder name, e.g. saisie-subventions."))],
    template: Annotated[
        str,
        typer.Option("--template", "-t", help=N_("saisie, classement, publipostage, rapport or bureau.")),
    ] = DEFAULT_TEMPLATE,
) -> None:
    from runner.scaffold import Needs, create_project

    try:
        project = create_project(name, template, Path.cwd())
    except RoboError as exc:
        say_error(exc)
        raise typer.Exit(ExitCode.ERROR) from None
    folder, workflow = project.folder.name, project.template.workflow
    out(
        _("Project {folder} created from the template '{template}': {summary}.").format(
            folder=folder, template=project.template.name, summary=_(project.template.summary)
        )
    )
    out(_("Read {file} first. Then:").format(file=f"{folder}/README.md"))
    out(f"  cd {folder}")
    out(f"  robo validate {workflow}")
    if project.template.needs in (Needs.INTRANET, Needs.MAIL):
        out("  " + _("robo intranet      (in another terminal: the training intranet and its mail server)"))
    out(f"  robo run {workflow}")


def intranet(
    port: Annotated[
        int, typer.Option("--port", help=N_("The intranet's web port (0: any free one)."))
    ] = INTRANET_PORT,
    mail_port: Annotated[
        int, typer.Option("--mail-port", help=N_("The mail server's SMTP port (0: any free one)."))
    ] = MAIL_PORT,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help=N_(
                "The folder where the training systems keep what they receive (default: the intranet's is"
                " removed when it stops; the desktop client's is the current folder)."
            ),
        ),
    ] = None,
    bureau: Annotated[
        bool,
        typer.Option(
            "--bureau", help=N_("Start the training desktop client instead, until its window is closed.")
        ),
    ] = False,
) -> None:
    from runner.scaffold import serve_desktop, serve_intranet

    try:
        if bureau:
            serve_desktop(err, data=data)
        else:
            serve_intranet(out, port=port, mail_port=mail_port, data=data)
    except RoboError as exc:
        say_error(exc)
        raise typer.Exit(ExitCode.ERROR) from None
