"""How the console writes a stored value for people: a moment from the store (UTC, ISO 8601) in the kit's format
and the zone for humans; the templates' `moment` filter and the live progress both use it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from robots.kit import format_moment


def moment(value: Any) -> str:
    """A stored moment as a person reads it (the kit's format, in the zone for humans); empty when none."""
    if not value:
        return ""
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return format_moment(when)
