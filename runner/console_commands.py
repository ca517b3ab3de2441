"""`robo dashboard`: the console's command, apart from `runner/cli.py` (which adds it to `robo`) like the other
groups' commands: it serves the agents' web console (`runner.console`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robots.kit import N_, RoboError
from runner.command_line import LogsOption, ProjectOption, StoreOption, say_error, store_of
from runner.events import ExitCode

DASHBOARD_HELP = N_("Serve the console: every run, item and schedule in a web page (French by default).")


def dashboard(
    host: Annotated[str, typer.Option(help=N_("The address to listen on."))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=N_("The port to listen on."))] = 8050,
    workflows: Annotated[
        Path | None,
        typer.Option("--workflows", help=N_("The folder of scheduled workflows."), envvar="ROBO_WORKFLOWS"),
    ] = None,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies",
            help=N_("Send the session cookie over HTTPS only (set it when the console is behind HTTPS)."),
            envvar="ROBO_CONSOLE_SECURE_COOKIES",
        ),
    ] = False,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            help=N_(
                "The address (or network) of a reverse proxy in front of the console, whose X-Forwarded-For and "
                "X-Forwarded-Proto are believed; repeat it for several."
            ),
        ),
    ] = None,
    user_header: Annotated[
        str | None,
        typer.Option(
            "--user-header",
            help=N_("Single sign-on: the header in which a trusted proxy names the logged-in user."),
        ),
    ] = None,
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    from runner.console import serve

    logs_dir, url = store_of(project, logs, store)
    try:
        serve(
            url,
            logs_dir,
            host=host,
            port=port,
            workflows_dir=workflows,
            secure_cookies=secure_cookies,
            trusted_proxies=trusted_proxy or (),
            user_header=user_header,
        )
    except RoboError as exc:
        say_error(exc)
        raise typer.Exit(ExitCode.ERROR) from None
