"""The project templates `robo new` offers: each a folder of package data (`templates/<name>/`) holding its workflow
`<name>.yaml`, its `README.md` and its sample data, plus what every project gets (`templates/commun/`).

A template is declared once, here; its folder is its content. What it needs to run (the training intranet, its
mail server, the desktop client) decides the next steps `robo new` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files
from importlib.resources.abc import Traversable

from robots.kit import N_

TEMPLATES_FOLDER = "templates"
COMMON_FOLDER = "commun"
"""What every new project gets, whatever its template: its `robo.toml`, its `.gitignore`."""
HIDDEN_NAMES = {"gitignore": ".gitignore"}
"""Files kept without their leading dot in the package (package data globs skip dotfiles), dotted in a project."""


class Needs(StrEnum):
    """What a template's workflow works against, for trying it."""

    NOTHING = "nothing"
    INTRANET = "intranet"  # the training intranet (`robo intranet`)
    MAIL = "mail"  # the training intranet's mail server (`robo intranet`)
    DESKTOP = (
        "desktop"  # the training desktop client, which the workflow starts itself (`robo intranet --bureau`)
    )


@dataclass(frozen=True)
class Template:
    """A project template: its name (`robo new NAME --template <name>`), what it does, what it needs."""

    name: str
    summary: str  # an English message id (N_), translated when shown
    needs: Needs

    @property
    def workflow(self) -> str:
        """The workflow's file name in the template and in a new project."""
        return f"{self.name}.yaml"

    def folder(self) -> Traversable:
        """The template's own files (package data)."""
        return files(__package__ or "runner.scaffold") / TEMPLATES_FOLDER / self.name


def common_folder() -> Traversable:
    """The files every new project gets."""
    return files(__package__ or "runner.scaffold") / TEMPLATES_FOLDER / COMMON_FOLDER


TEMPLATES: dict[str, Template] = {
    template.name: template
    for template in (
        Template(
            "saisie",
            N_("enter a spreadsheet's rows into the intranet's form, one case per row"),
            Needs.INTRANET,
        ),
        Template(
            "classement",
            N_("file documents into folders by what they say, their type or their name"),
            Needs.NOTHING,
        ),
        Template(
            "publipostage",
            N_("a Word letter per spreadsheet row, sent by e-mail as an attachment"),
            Needs.MAIL,
        ),
        Template(
            "rapport",
            N_("read the intranet's list of cases into an Excel report"),
            Needs.INTRANET,
        ),
        Template(
            "bureau",
            N_("enter a spreadsheet's rows into a desktop application, with keyboard and mouse"),
            Needs.DESKTOP,
        ),
    )
}
DEFAULT_TEMPLATE = "saisie"
