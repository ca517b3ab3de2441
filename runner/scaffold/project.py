"""`robo new`: a new project folder from a template, written whole or not at all.

The folder is built under a temporary name beside where it goes, then renamed into place: an interruption (Ctrl+C,
a full disk) leaves nothing behind but, at worst, the temporary folder, which is removed on the way out. The
project's workflow gets the JSON Schema of this installation's workflow language beside it (`robo.schema.json`),
so that an editor completes and checks it offline.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from robots.kit import ConfigurationError, _
from runner.scaffold.catalog import HIDDEN_NAMES, TEMPLATES, Template, common_folder

NAME_LENGTH = 64
# A folder name anyone can type in a command: letters (accented ones too), digits, "-" and "_", starting with a
# letter or a digit. Spaces are refused: every command of the README would need quotes.
_NAME = re.compile(r"[^\W_][\w-]*")
_STAGING_SUFFIX = ".robo-new"


@dataclass(frozen=True)
class NewProject:
    """A project `robo new` wrote: its folder, its template, its workflow file."""

    folder: Path
    template: Template

    @property
    def workflow(self) -> Path:
        return self.folder / self.template.workflow


def template_named(name: str) -> Template:
    """The template called `name`; an unknown one is refused with the list and a "did you mean"."""
    template = TEMPLATES.get(name.strip().lower())
    if template is not None:
        return template
    from runner.language import closest

    match = closest(name, list(TEMPLATES))
    raise ConfigurationError(
        _("there is no project template '{name}'").format(name=name),
        hint=(_("did you mean '{name}'?").format(name=match[0]) + " " if match else "")
        + _("the templates are: {names}").format(names=", ".join(TEMPLATES)),
    )


def checked_name(name: str) -> str:
    """`name` as a project folder's name (Unicode NFC), or a ConfigurationError saying what to type instead."""
    name = unicodedata.normalize("NFC", name)
    if "/" in name or "\\" in name or name in (".", ".."):
        raise ConfigurationError(
            _("'{name}' is a path; a project's name is the name of one new folder").format(name=name),
            hint=_("go to the folder where the project should be (cd), then: robo new {example}").format(
                example=_suggestion(Path(name).name) or "mon-projet"
            ),
        )
    if not name.strip():
        raise ConfigurationError(
            _("a project needs a name"), hint=_("for example: robo new saisie-subventions")
        )
    if len(name) > NAME_LENGTH:
        raise ConfigurationError(
            _("the project's name is {length} characters long; {limit} at most").format(
                length=len(name), limit=NAME_LENGTH
            ),
            hint=_("choose a shorter name"),
        )
    if _NAME.fullmatch(name) is None:
        suggestion = _suggestion(name)
        raise ConfigurationError(
            _("'{name}' cannot be a project's name").format(name=name),
            hint=_(
                "use letters (accented ones too), digits, '-' and '_', starting with a letter or a digit,"
                " no spaces"
            )
            + (" " + _("e.g. {name}").format(name=suggestion) if suggestion else ""),
        )
    return name


def _suggestion(name: str) -> str:
    """`name` made acceptable: spaces and other signs become "-", trimmed (empty when nothing is left)."""
    cleaned = re.sub(r"[^\w-]+", "-", unicodedata.normalize("NFC", name)).strip("-_")
    return cleaned[:NAME_LENGTH] if _NAME.fullmatch(cleaned[:NAME_LENGTH] or "-") else ""


def create_project(name: str, template_name: str, parent: Path) -> NewProject:
    """Write the project `name` in `parent` from the template `template_name`, whole or not at all.

    Raises ConfigurationError for a bad name, an unknown template, a folder already there and not empty, or a
    parent where nothing can be written.
    """
    template = template_named(template_name)
    name = checked_name(name)
    target = parent / name
    _refuse_existing(target)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=_STAGING_SUFFIX, dir=parent))
    except OSError as exc:
        raise _unwritable(parent, exc) from None
    try:
        _copy_tree(common_folder(), staging)
        _copy_tree(template.folder(), staging)
        _write_schema(staging)
        staging.chmod(0o777 & ~_umask())  # mkdtemp's folder is its owner's alone; a project is not
        _put_in_place(staging, target)
    except BaseException:  # Ctrl+C too: nothing half-written stays
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return NewProject(target, template)


def _write_schema(folder: Path) -> None:
    """The workflow language's schema beside the workflow (the language imported here: `robo --help` stays fast)."""
    from runner.language import SCHEMA_FILE, schema_text

    (folder / SCHEMA_FILE).write_text(schema_text(), encoding="utf-8")


def _refuse_existing(target: Path) -> None:
    if target.is_symlink() or target.exists():
        if not target.is_dir() or target.is_symlink() or any(target.iterdir()):
            raise ConfigurationError(
                _("{folder} already exists and is not an empty folder").format(folder=target),
                hint=_("choose another name, or move that folder away first"),
            )


def _put_in_place(staging: Path, target: Path) -> None:
    """Rename the finished folder to its name: replaces an empty folder, never one that something filled."""
    try:
        staging.rename(target)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise ConfigurationError(
                _("{folder} already exists and is not an empty folder").format(folder=target),
                hint=_("choose another name, or move that folder away first"),
            ) from None
        raise _unwritable(target.parent, exc) from None


def _unwritable(parent: Path, exc: OSError) -> ConfigurationError:
    return ConfigurationError(
        _("the project cannot be written in {folder}: {reason}").format(
            folder=parent, reason=exc.strerror or exc
        ),
        hint=_("create it in a folder of yours, where you can write (your home folder, for example)"),
    )


def _copy_tree(source: Traversable, target: Path) -> None:
    """Copy the package data folder `source` into `target` (which exists), a dotfile's dot restored."""
    for entry in sorted(source.iterdir(), key=lambda item: item.name):
        if entry.name == "__pycache__":
            continue
        destination = target / HIDDEN_NAMES.get(entry.name, entry.name)
        if entry.is_dir():
            destination.mkdir(exist_ok=True)
            _copy_tree(entry, destination)
        else:
            destination.write_bytes(entry.read_bytes())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
