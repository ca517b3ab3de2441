"""A dry run: which actions it does not call, and what their results read as for the steps after them."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath
from typing import Any

from robots import robot_class
from robots.kit import N_, ActionSpec, _
from runner.language import ActionStep

DRY_RUN_NOT_CALLED = N_("dry run: not called")
DRY_RUN_NOT_CHECKED = N_("not checked in a dry run: it follows a change the dry run did not make")
DRY_RUN_TEXT = "(dry run)"
"""What a text result of an action a dry run did not call reads as (e.g. the path of a letter not written)."""


class DryRunSkips:
    """The actions a dry run does not call, remembering the robots whose later reads follow a change not made."""

    def __init__(self) -> None:
        self._changed: set[tuple[int, str | None, str]] = set()  # (lane, item, robot)

    def reason(self, step: ActionStep, spec: ActionSpec, lane: int, item: str | None) -> str | None:
        """Why a dry run does not call this action (None: it is called).

        A changing action is not called. Nor, within the same item, are the later actions of a robot that reads
        its own changes (the browser, on a page a skipped click or submit did not change): they could only wait
        for what will not come, then fail. A change skipped outside any item (an application not started, a
        login not typed before the loop) is followed by every later item of the lane.
        """
        follows = (lane, item, step.robot)
        if spec.side_effects:
            if getattr(robot_class(step.robot), "reads_its_own_changes", False):
                self._changed.add(follows)
            return _(DRY_RUN_NOT_CALLED)
        if follows in self._changed or (lane, None, step.robot) in self._changed:
            return _(DRY_RUN_NOT_CHECKED)
        return None


class DryRunRecord(dict[str, Any]):
    """The mapping result of an action a dry run did not call: each of its fields reads as `DRY_RUN_TEXT`."""

    def __missing__(self, key: str) -> str:
        return DRY_RUN_TEXT


def dry_run_result(step: ActionStep, spec: ActionSpec) -> Any:
    """What the result of an action a dry run did not call reads as: a value of the type the action returns."""
    return dry_run_placeholder(_return_annotation(step.robot, spec.method_name))


def dry_run_placeholder(annotation: Any) -> Any:
    """A value of the type an action returns, for later steps of a dry run to use in its place.

    A list is empty, a text is `DRY_RUN_TEXT`, a path is `DRY_RUN_TEXT` as a path, a mapping a `DryRunRecord`, a
    number 0, a truth value false; None when nothing fits.
    """
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return dry_run_placeholder(args[0])
    if origin in (typing.Union, types.UnionType):
        kinds = [arg for arg in args if arg is not type(None)]
        return dry_run_placeholder(kinds[0]) if kinds else None
    if origin is typing.Literal:
        return args[0] if args else None
    if typing.is_typeddict(annotation):
        return DryRunRecord()
    kind = origin or annotation
    if not isinstance(kind, type) or kind is type(None):
        return None
    if issubclass(kind, bool):
        return False
    if issubclass(kind, str):
        return DRY_RUN_TEXT
    if issubclass(kind, PurePath):
        return Path(DRY_RUN_TEXT)
    if issubclass(kind, int | float):
        return kind(0)
    if issubclass(kind, Mapping):
        return DryRunRecord()
    if issubclass(kind, Iterable):
        return []
    return None


@functools.cache
def _return_annotation(robot: str, method_name: str) -> Any:
    try:
        return typing.get_type_hints(getattr(robot_class(robot), method_name)).get("return")
    except (NameError, TypeError):  # an annotation that cannot be resolved: no placeholder
        return None
