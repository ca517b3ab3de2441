"""Rob'O's robots: one module or package per robot, imported on first use.

Built-in robots are listed by name below; third parties add theirs through the `robo.robots` entry point
group (`name = "package.module:RobotClass"`). Importing a robot module is cheap: heavy libraries (Playwright,
openpyxl, pyautogui, python-docx) are imported only inside a robot's `open()` or its actions.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib import metadata

from robots.kit import ActionSpec, Robot, _

__all__ = [
    "UnknownRobotError",
    "action",
    "action_spec",
    "robot_class",
    "robot_names",
]

BUILTIN_ROBOTS: dict[str, str] = {
    "data": "robots.data:Data",
    "http": "robots.http:Http",
    "browser": "robots.browser:Browser",
    "word": "robots.word:Word",
    "pdf": "robots.pdf:Pdf",
    "email": "robots.email:Email",
    "excel": "robots.excel:Excel",
    "files": "robots.files:Files",
    "desktop": "robots.desktop:Desktop",
    "documents": "robots.documents:Documents",
}


class UnknownRobotError(LookupError):
    """No robot of that name is installed."""


@cache
def _plugin_robots() -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in metadata.entry_points(group="robo.robots"):
        found.setdefault(entry.name, entry.value)
    return found


def _targets() -> dict[str, str]:
    return {**_plugin_robots(), **BUILTIN_ROBOTS}


def robot_names() -> list[str]:
    """Every robot name a workflow may use, sorted."""
    return sorted(_targets())


@cache
def robot_class(name: str) -> type[Robot]:
    """The robot class registered under `name`, imported now if it was not yet."""
    target = _targets().get(name)
    if target is None:
        raise UnknownRobotError(name)
    module_name, _colon, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Robot)):
        raise UnknownRobotError(_("{name}: {target} is not a Robot class").format(name=name, target=target))
    return cls


def action_spec(robot: str, action_name: str) -> ActionSpec | None:
    """The spec of `robot.action_name`, or None when the robot has no such action."""
    return robot_class(robot).action_specs().get(action_name)
