"""What every `robo` command shares: its help in the language people read, the common options, the project it
works in, and how it says an error. `runner/cli.py` holds the commands themselves.

The help is French or English, through the gettext catalogs. Typer builds the whole command tree before any option
is parsed, so a help text is written in the code as its English message id (marked with `N_`) and translated when
the help is shown. The root command looks for `--lang` in its arguments before parsing them, so that
`robo --lang fr --help` is French too (otherwise `ROBO_LANG`, then the locale, decide). Click's own words (section
titles, `[default: …]`, the help option) are translated here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from robots.kit import N_, RoboError, _, printable, set_language
from runner.events import ExitCode

if TYPE_CHECKING:
    from runner.record import RunStore
    from runner.run import Project

# Click's and Typer's words, as they write them: extracted here so that the catalogs translate them.
HELP_OPTION = N_("Show this message and exit.")
_EXTRA = re.compile(r"^(?P<help>.*?)\s*\[(?P<extra>[^\[\]]*)\]$", re.DOTALL)


def language_asked(args: Sequence[str]) -> str | None:
    """The value of the global `--lang` option among a command line's arguments (before the command's name)."""
    for position, arg in enumerate(args):
        if arg == "--lang" and position + 1 < len(args):
            return args[position + 1]
        if arg.startswith("--lang="):
            return arg.removeprefix("--lang=")
        if not arg.startswith("-"):
            return None  # the command's name: what follows is its own
    return None


def _extras(text: str) -> str:
    """Click's `[default: x; required]` after a help text, in the process's language."""
    found = _EXTRA.match(text)
    if found is None:
        return text
    words = []
    for part in found["extra"].split("; "):
        if part.startswith("default: "):
            words.append(_("default: {default}").format(default=part.removeprefix("default: ")))
        elif part.startswith("env var: "):
            words.append(_("env var: {var}").format(var=part.removeprefix("env var: ")))
        elif part == "required":
            words.append(_("required"))
        else:
            words.append(part)
    return f"{found['help']}  [{'; '.join(words)}]".lstrip()


@contextmanager
def _translated(ctx: Any, commands: Sequence[Any]) -> Iterator[None]:
    """The help texts of `commands` and of their parameters in the process's language, while the help is written."""
    saved: list[tuple[Any, str, str | None]] = []
    for command in commands:
        saved.extend(
            (command, attribute, getattr(command, attribute)) for attribute in ("help", "short_help")
        )
        saved.extend((param, "help", getattr(param, "help", None)) for param in command.get_params(ctx))
    try:
        for owner, attribute, text in saved:
            if text:
                setattr(owner, attribute, _(text))
        yield
    finally:
        for owner, attribute, text in saved:
            setattr(owner, attribute, text)


def _format_parameters(command: Any, ctx: Any, formatter: Any) -> None:
    """The "Arguments" and "Options" sections, their titles and click's notes translated."""
    sections: dict[str, list[tuple[str, str]]] = {"argument": [], "option": []}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None and param.param_type_name in sections:
            sections[param.param_type_name].append((record[0], _extras(record[1])))
    _section(formatter, _("Arguments:"), sections["argument"])
    _section(formatter, _("Options:"), sections["option"])


def _section(formatter: Any, title: str, rows: list[tuple[str, str]]) -> None:
    """A section of the help, its title as the language writes it ("Options :" in French)."""
    if rows:
        formatter.write_paragraph()
        formatter.write(f"{'':>{formatter.current_indent}}{title}\n")
        with formatter.indentation():
            formatter.write_dl(rows)


def _format_usage(command: Any, ctx: Any, formatter: Any) -> None:
    formatter.write_usage(ctx.command_path, " ".join(command.collect_usage_pieces(ctx)), prefix=_("Usage: "))


class LocalizedCommand(TyperCommand):
    """A `robo` command whose help is shown in the process's language."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _translated(ctx, [self]):
            super().format_help(ctx, formatter)

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        _format_usage(self, ctx, formatter)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        _format_parameters(self, ctx, formatter)


class LocalizedGroup(TyperGroup):
    """A group of `robo` commands whose help (and its list of commands) is shown in the process's language; the
    root one chooses the language from `--lang` before it parses anything."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if ctx.parent is None:
            asked = language_asked(args)
            if asked is not None:  # refused (ConfigurationError, said by `main`) when Rob'O does not speak it
                set_language(asked)
        result: list[str] = super().parse_args(ctx, args)
        return result

    def format_help(self, ctx: Any, formatter: Any) -> None:
        subcommands = [self.get_command(ctx, name) for name in self.list_commands(ctx)]
        with _translated(ctx, [self, *(command for command in subcommands if command is not None)]):
            super().format_help(ctx, formatter)

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        _format_usage(self, ctx, formatter)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        _format_parameters(self, ctx, formatter)
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        shown = [(name, command) for name, command in commands if command is not None and not command.hidden]
        limit = formatter.width - 6 - max((len(name) for name, _command in shown), default=0)
        rows = [(name, command.get_short_help_str(limit)) for name, command in shown]
        _section(formatter, _("Commands:"), rows)


def command_group(text: str) -> typer.Typer:
    """A group of `robo` commands (`robo runs …`) whose help is `text`, shown in the language asked."""
    return typer.Typer(help=text, no_args_is_help=True, cls=LocalizedGroup, rich_markup_mode=None)


# `@app.command(**COMMAND)`: a command whose help is shown in the language asked.
COMMAND: dict[str, Any] = {"cls": LocalizedCommand}


LogsOption = Annotated[
    Path | None,
    typer.Option(
        "--logs",
        help=N_(
            "Folder where runs are recorded (default: robo.toml's, else 'logs' beside the workflow; for the "
            "commands that read runs, 'logs' in the current folder)."
        ),
        envvar="ROBO_LOGS",
    ),
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help=N_("SQLAlchemy URL of the run store (default: robo.toml's, else SQLite in the logs folder)."),
        envvar="ROBO_STORE_URL",
    ),
]
ProjectOption = Annotated[
    Path | None,
    typer.Option("--project", help=N_("The project folder (its robo.toml); default: the current folder's.")),
]
FormatOption = Annotated[str, typer.Option("--format", help=N_("text or json."))]
LangOption = Annotated[
    str | None, typer.Option(help=N_("Messages: fr or en (default: ROBO_LANG, robo.toml, the locale)."))
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help=N_(
            "Also do again the items to check, and the items other runs of the workflow entered (they may be"
            " entered twice, then)."
        ),
    ),
]
_language_option: list[str] = []  # the --lang given: it wins over robo.toml's language


def choose_language(lang: str | None) -> None:
    """The global `--lang` option (None: from the environment); refused (exit 1, with a hint) when unknown."""
    set_language(lang)
    _language_option[:] = [lang] if lang else []


def out(text: str = "") -> None:
    typer.echo(printable(text))  # what comes from a run's data may not drive the terminal


def err(text: str) -> None:
    typer.echo(printable(text), err=True)


def say_error(exc: RoboError) -> None:
    err(
        _("error: {message}").format(message=exc.message)
        + ("\n  " + _("hint: {hint}").format(hint=exc.hint) if exc.hint else "")
    )


def project_of(start: Path) -> Project:
    """The project `start` (a workflow, or a folder) belongs to, its language and zone applied; a bad robo.toml
    is said (exit 1)."""
    from runner.run import load_project

    try:
        project = load_project(start)
        project.apply(language_given=bool(_language_option))
    except RoboError as exc:
        say_error(exc)
        raise typer.Exit(ExitCode.ERROR) from None
    return project


def records(project_folder: Path | None, logs: Path | None, store: str | None) -> tuple[Path, str | None]:
    """Where the runs are read (`robo runs`, `robo schedule`): --logs/--store, else robo.toml's (found from
    --project or the current folder upwards), else `logs` in that folder."""
    from runner.run import LOGS_FOLDER

    folder = project_folder or Path()
    project = project_of(folder)
    return logs or project.logs_folder(folder / LOGS_FOLDER), store or project.store


def store_of(project_folder: Path | None, logs: Path | None, store: str | None) -> tuple[Path, str]:
    """The logs folder and run store URL the commands that read runs use (see `records`)."""
    from runner.record import default_store_url

    folder, url = records(project_folder, logs, store)
    return folder, url or default_store_url(folder)


def open_run_store(project_folder: Path | None, logs: Path | None, store: str | None) -> RunStore:
    """The run store `robo runs` reads (never made: a missing one is said, exit 1)."""
    from runner.review import open_store

    run_store = open_store(*records(project_folder, logs, store), err)
    if run_store is None:
        raise typer.Exit(ExitCode.ERROR)
    return run_store
