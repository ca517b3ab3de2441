"""The texts of an action's parameters that a template built from data (a path made from a row, not written)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from runner.language.templating import is_template


def built_from_data(raw: Any, rendered: Any) -> list[str]:
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
