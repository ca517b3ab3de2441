"""What of an action's parameters a template built from data (a path or a text made from a row, not written).

`leads_outside` keeps such paths inside the run's folders; `TextsFromData` answers a robot that asks about a text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from robots.kit import ActionSpec, BusinessError, RobotContext, outside_error
from runner.language import ActionStep
from runner.language.templating import is_template


def leads_outside(
    step: ActionStep, spec: ActionSpec, rendered: Mapping[str, Any], paths: RobotContext
) -> BusinessError | None:
    """The error for a path a template built from data that leads outside the run's folders (`paths`).

    Only the parameters an action declares as `ConfinedPath` (written, moved, deleted or sent away) are
    checked, and only the values a template built: a path the author wrote in the workflow is used as is.
    """
    for name in sorted(spec.confined_parameters):
        for value in _built_from_data(step.params.get(name), rendered.get(name)):
            reason = paths.path_outside(value)
            if reason is not None:
                return outside_error(spec.qualified_name, name, value, reason)
    return None


def _built_from_data(raw: Any, rendered: Any) -> list[str]:
    """The paths of a parameter that a template built: all of them when the value is one template, else the
    templated entries of a list the workflow wrote."""
    if is_template(raw):
        values = rendered if isinstance(rendered, list | tuple) else [rendered]
        return [str(value) for value in values if value is not None]
    if isinstance(raw, list) and isinstance(rendered, list):
        return [str(value) for entry, value in zip(raw, rendered, strict=False) if is_template(entry)]
    return []


@dataclasses.dataclass(frozen=True)
class TextsFromData:
    """The texts of an action's parameters that a template built, looked for only when a robot asks (rarely:
    collecting them for every call would double the memory a step with large records uses)."""

    raw: Any
    rendered: Any

    def __contains__(self, value: object) -> bool:
        return any(text == value for text in _texts_from_data(self.raw, self.rendered))


def _texts_from_data(raw: Any, rendered: Any) -> Iterator[str]:
    """Every text in the rendered parameters that a template built (walking the workflow's own mappings and lists
    alongside what they became)."""
    if is_template(raw):
        yield from _texts(rendered)
    elif isinstance(raw, dict) and isinstance(rendered, dict):
        for key, value in raw.items():
            if key in rendered:
                yield from _texts_from_data(value, rendered[key])
    elif isinstance(raw, list) and isinstance(rendered, list):
        for entry, value in zip(raw, rendered, strict=False):
            yield from _texts_from_data(entry, value)


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)
