"""An action step's parameters on their way to its robot: plain data, and refused when a text cannot be encoded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from robots.kit import BusinessError, _
from runner.engine.state import is_streamed
from runner.events import unencodable_place


def as_plain_data(value: Any) -> Any:
    """Parameters as plain data: streamed records (what a loop goes through without holding) become a list."""
    if is_streamed(value):
        return list(value)
    if isinstance(value, dict):
        return {key: as_plain_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_plain_data(item) for item in value]
    return value


def unencodable_failure(what: str, params: Mapping[str, Any]) -> BusinessError | None:
    """The error for a value holding text that no file, database or screen can take (a lone surrogate)."""
    for name, value in params.items():
        place = unencodable_place(value, name)
        if place is not None:
            return BusinessError(
                _(
                    "{what}: the text in '{place}' cannot be encoded: it holds a broken character (a lone"
                    " surrogate, such as the JSON escape {escape} alone)"
                ).format(what=what, place=place, escape="\\ud800"),
                hint=_("correct the data at its source; this item can then be run again"),
            )
    return None
