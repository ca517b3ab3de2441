"""The `robo users` commands: the people who may log in to the console, and their roles.

Apart from `runner/cli.py` (which adds them to `robo`) because they are a group of their own. A password is
never an argument (it would stay in the shell's history and in `ps`): it is asked twice without echo, or read
from the standard input with `--password-stdin`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from robots.kit import N_, RoboError, _, format_moment
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
    from runner.console.access import UserStore

users_app = command_group(
    N_("Manage who may log in to the console, and their roles (viewer, operator, admin).")
)

NameArgument = Annotated[str, typer.Argument(help=N_("The user's name."))]
RoleOption = Annotated[
    str, typer.Option("--role", help=N_("viewer (reads), operator (acts) or admin (manages users)."))
]
PasswordStdinOption = Annotated[
    bool,
    typer.Option("--password-stdin", help=N_("Read the password from the first line of the standard input.")),
]


def _user_store(project: Path | None, logs: Path | None, store: str | None) -> UserStore:
    from runner.console.access import UserStore
    from runner.record import open_engine

    _folder, url = store_of(project, logs, store)
    try:
        return UserStore(open_engine(url))
    except RoboError as exc:
        say_error(exc)
        raise typer.Exit(ExitCode.ERROR) from None


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        err(_("error: no terminal to ask the password on"))
        err("  " + _("hint: give it on the standard input with --password-stdin"))
        raise typer.Exit(ExitCode.USAGE)
    first = typer.prompt(_("Password"), hide_input=True)
    if typer.prompt(_("Password (again)"), hide_input=True) != first:
        err(_("error: the two passwords differ"))
        raise typer.Exit(ExitCode.USAGE)
    return str(first)


def _done(action: Callable[[], object]) -> None:
    try:
        action()
    except RoboError as exc:
        say_error(exc)
        raise typer.Exit(ExitCode.ERROR) from None


@users_app.command("add", help=N_("Add a user who may log in to the console."), **COMMAND)
def users_add(
    name: NameArgument,
    role: RoleOption,
    password_stdin: PasswordStdinOption = False,
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    from runner.console.access import parse_role

    users = _user_store(project, logs, store)
    _done(lambda: users.add(name, parse_role(role), _password(password_stdin)))
    out(_("user {name} added, with the role {role}").format(name=name, role=role.strip().lower()))


@users_app.command("list", help=N_("List the console's users and their roles."), **COMMAND)
def users_list(
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
    fmt: FormatOption = "text",
) -> None:
    found = _user_store(project, logs, store).list()
    if fmt == "json":
        rows = [
            {
                "name": user.name,
                "role": user.role.word,
                "created_at": user.created_at.isoformat(),
                "changed_at": user.changed_at.isoformat(),
            }
            for user in found
        ]
        out(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not found:
        out(_("no user: add one with 'robo users add NAME --role admin'"))
        return
    for user in found:
        out(
            _("{name}  {role}  (changed {moment})").format(
                name=user.name, role=user.role.word, moment=format_moment(user.changed_at)
            )
        )


@users_app.command("remove", help=N_("Remove a user: they can no longer log in."), **COMMAND)
def users_remove(
    name: NameArgument,
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    users = _user_store(project, logs, store)
    _done(lambda: users.remove(name))
    out(_("user {name} removed").format(name=name))


@users_app.command("set-role", help=N_("Change a user's role."), **COMMAND)
def users_set_role(
    name: NameArgument,
    role: RoleOption,
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    from runner.console.access import parse_role

    users = _user_store(project, logs, store)
    _done(lambda: users.set_role(name, parse_role(role)))
    out(_("user {name} now has the role {role}").format(name=name, role=role.strip().lower()))


@users_app.command("passwd", help=N_("Change a user's password."), **COMMAND)
def users_passwd(
    name: NameArgument,
    password_stdin: PasswordStdinOption = False,
    project: ProjectOption = None,
    logs: LogsOption = None,
    store: StoreOption = None,
) -> None:
    users = _user_store(project, logs, store)
    _done(lambda: users.existing(name))  # an unknown name is said before the password is asked
    _done(lambda: users.set_password(name, _password(password_stdin)))
    out(_("the password of {name} is changed").format(name=name))
