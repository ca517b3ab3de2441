"""Durations as people write them: `90`, `500ms`, `90s`, `15m`, `15 min`, `1h30`, `2 heures`, `1 jour`, `1:30:00`.

Every duration of the language (timeouts, retry delays, `every:` of a schedule, jitter) is a number of seconds
once read; a number is taken as seconds. Units are parsed by pytimeparse, after the French words a workflow
author may write (heure, jour, semaine, seconde, `1h30`) are put in its terms.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic.json_schema import WithJsonSchema
from pytimeparse.timeparse import timeparse as parse_time_expression

from robots.kit.i18n import N_, _

EXAMPLES = "90s, 15m, 1h30 or 2 jours"
NOT_A_DURATION = N_("should be a number of seconds or a duration such as 90s, 15m, 1h30 or 2 jours")
"""Why a value is no duration (marked with `N_`: translated with `_()` where it is raised)."""

_FRENCH_UNITS = (
    (re.compile(r"(?<=[\d\s])semaines?\b"), "w"),
    (re.compile(r"(?<=[\d\s])jours?\b"), "d"),
    (re.compile(r"(?<=[\d\s])j\b"), "d"),
    (re.compile(r"(?<=[\d\s])heures?\b"), "h"),
    (re.compile(r"(?<=[\d\s])mn\b"), "m"),
    (re.compile(r"(?<=[\d\s])secondes?\b"), "s"),
    (re.compile(r"\bet\b"), " "),
)
_MILLISECONDS = re.compile(r"^(\d+(?:\.\d+)?)\s*ms$")  # pytimeparse knows no unit below the second
_HOURS_AND_MINUTES = re.compile(r"^(\d+)\s*h\s*(\d{1,2})$")  # "1h30", as written in French


def to_seconds(value: Any) -> Any:
    """Seconds for a duration; a value that is no duration is returned as is, for the type check to refuse."""
    if isinstance(value, bool) or not isinstance(value, str | dt.timedelta):
        return value
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    text = value.strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    milliseconds = _MILLISECONDS.match(text)
    if milliseconds:
        return float(milliseconds.group(1)) / 1000
    for pattern, unit in _FRENCH_UNITS:
        text = pattern.sub(unit, text)
    text = _HOURS_AND_MINUTES.sub(r"\1h\2m", " ".join(text.split()))
    seconds = parse_time_expression(text)
    if seconds is None:
        raise ValueError(_(NOT_A_DURATION))
    return float(seconds)


DURATION_SCHEMA = {
    "anyOf": [
        {"type": "number", "description": "seconds"},
        {"type": "string", "description": f"a duration, e.g. {EXAMPLES}"},
    ]
}

Duration = Annotated[float, BeforeValidator(to_seconds), WithJsonSchema(DURATION_SCHEMA)]
"""Seconds, written as a number or a duration text; bounds go in a `Field` around it."""


__all__ = ["DURATION_SCHEMA", "NOT_A_DURATION", "Duration", "to_seconds"]
