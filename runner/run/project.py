"""A project folder: the `robo.toml` that says where runs are recorded, their store, the language and time zone.

`robo run` looks for `robo.toml` in the workflow's folder and then in each parent folder, as git finds its
repository; `robo runs` and `robo schedule` look from the current folder (or `--project`). The file is optional:
without it a run is recorded beside its workflow (`<workflow folder>/logs`). Every key is optional too:

    logs = "traitements"                 # where runs are recorded, relative to the robo.toml's folder
    store = "postgresql://robo@db/robo"  # the run store's SQLAlchemy URL (default: SQLite in the logs folder);
                                         # never with a password: that comes from the environment
    language = "fr"                      # fr or en
    timezone = "Europe/Paris"            # the zone times are shown in

What decides, first to last: a command option (`--logs`, `--store`, `--lang`), then the environment
(`ROBO_LOGS`, `ROBO_STORE_URL`, `ROBO_LANG`, `ROBO_TIMEZONE`), then `robo.toml`, then the default (beside the
workflow; the locale's language; the machine's zone).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from robots.kit import LANGUAGES, ConfigurationError, RoboError, _, set_language, set_zone, zone_named
from runner.language import closest
from runner.run.folders import LOGS_FOLDER

PROJECT_FILE = "robo.toml"
KEYS = ("logs", "store", "language", "timezone")


@dataclass(frozen=True)
class Project:
    """What a `robo.toml` says (None: it does not say it), and where it is (None: there is no robo.toml)."""

    file: Path | None = None
    logs: Path | None = None  # absolute: a relative `logs` is taken from the robo.toml's folder
    store: str | None = None
    language: str | None = None
    timezone: str | None = None

    def logs_folder(self, default: Path) -> Path:
        """Where runs are recorded: the robo.toml's `logs`, else `default` (beside the workflow, for `robo run`)."""
        return self.logs or default

    def apply(self, *, language_given: bool = False) -> None:
        """Make its language and zone the process's, unless a command option or the environment chose them."""
        if (
            self.language
            and not language_given
            and os.environ.get("ROBO_LANG", "").strip().lower() not in LANGUAGES
        ):
            set_language(self.language)
        if self.timezone and not os.environ.get("ROBO_TIMEZONE", "").strip():
            set_zone(self.timezone)


def find_project_file(start: Path) -> Path | None:
    """The `robo.toml` in `start` (a folder, or a file whose folder is taken) or in the nearest of its parents."""
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        path = candidate / PROJECT_FILE
        if path.is_file():
            return path
    return None


def load_project(start: Path) -> Project:
    """The project `start` belongs to (an empty `Project` when no robo.toml is found).

    Raises ConfigurationError, with `robo.toml:line` and a hint, for a file that cannot be read or a bad key or value.
    """
    path = find_project_file(start)
    return Project() if path is None else read_project(path)


def read_project(path: Path) -> Project:
    """The settings of one `robo.toml` file."""
    shown = _shown(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            _("{file}: the project file cannot be read: {reason}").format(file=shown, reason=exc),
            hint=_("save it as a UTF-8 text file you can read"),
        ) from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{shown}:{found[1]}:{found[2]}" if found else shown
        raise ConfigurationError(
            _("{place}: this is not valid TOML: {reason}").format(
                place=where, reason=re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
            ),
            hint=_('write one setting a line, a text in double quotes: logs = "traitements"'),
        ) from None
    for key in table:
        if key not in KEYS:
            match = closest(key, KEYS)
            raise ConfigurationError(
                _("{place}: unknown setting '{key}'").format(place=_place(shown, text, key), key=key),
                hint=(_("did you mean '{name}'?").format(name=match[0]) + " " if match else "")
                + _("the settings are: {names}").format(names=", ".join(KEYS)),
            )
        if not isinstance(table[key], str) or not table[key].strip():
            raise ConfigurationError(
                _("{place}: '{key}' must be a text in double quotes").format(
                    place=_place(shown, text, key), key=key
                ),
                hint=_('for example: {key} = "{example}"').format(key=key, example=_EXAMPLES[key]),
            )
    values: dict[str, str] = {key: value.strip() for key, value in table.items()}
    language = values.get("language", "").lower() or None
    if language is not None and language not in LANGUAGES:
        raise ConfigurationError(
            _("{place}: Rob'O does not speak the language '{language}'").format(
                place=_place(shown, text, "language"), language=values["language"]
            ),
            hint=_("choose one of: {languages}").format(languages=", ".join(LANGUAGES)),
        )
    if "timezone" in values:
        try:
            zone_named(values["timezone"])
        except RoboError as exc:
            raise ConfigurationError(
                f"{_place(shown, text, 'timezone')}: {exc.message}", hint=exc.hint
            ) from None
    if "store" in values:
        _refuse_password(values["store"], _place(shown, text, "store"))
    logs = values.get("logs")
    return Project(
        file=path,
        logs=(path.parent / logs).resolve() if logs else None,
        store=values.get("store"),
        language=language,
        timezone=values.get("timezone"),
    )


_EXAMPLES = {
    "logs": LOGS_FOLDER,
    "store": "sqlite:///traitements/robo.db",
    "language": "fr",
    "timezone": "Europe/Paris",
}


def _refuse_password(url: str, place: str) -> None:
    """A database password is never written in a project file (it is shared, and often kept in git): it comes
    from the environment (`ROBO_STORE_URL`, or PostgreSQL's own `PGPASSWORD` and `~/.pgpass`)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
    except ArgumentError:
        return  # not a URL: opening the store says so
    if password:
        raise ConfigurationError(
            _("{place}: the store's URL holds a password, which a project file must not keep").format(
                place=place
            ),
            hint=_(
                "remove the password from robo.toml and give it in the environment: the whole URL in"
                " ROBO_STORE_URL, or the password alone in PGPASSWORD or ~/.pgpass"
            ),
        )


def _place(shown: str, text: str, key: str) -> str:
    """`robo.toml:3`: the line where `key` is set (tomllib gives no positions), or the file alone."""
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
            return f"{shown}:{number}"
    return shown


def _shown(path: Path) -> str:
    """The file as a person finds it from the current folder: `robo.toml`, `../robo.toml`; else its whole path."""
    try:
        relative = os.path.relpath(path.resolve(), Path.cwd().resolve())
    except ValueError:  # another drive
        return str(path)
    return relative if Path(relative).parts.count("..") <= 2 else str(path)
