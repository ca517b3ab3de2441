"""Values that travel through the run store to a fleet's workers (an item's row, what a loop's items see), kept
with their types: a date read from a spreadsheet reaches the worker as a date, not as text.

JSON with tags: `{"$date": "2026-12-01"}`, `{"$datetime": …}`, `{"$time": …}`, `{"$decimal": "12.50"}`,
`{"$bytes": base64}`; a mapping whose only key starts with `$` is wrapped (`{"$map": {…}}`) so that data never
reads as a tag. Anything else (an object of a library) cannot travel: `NotSendable` says which and where.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from robots.kit import BusinessError, _


class NotSendable(BusinessError):
    """A value a worker could not be given as it is."""


def to_payload(value: Any, where: str = "") -> Any:
    """`value` as plain JSON data with its types tagged."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"$float": repr(value)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, bytes | bytearray):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        data = {
            str(key): to_payload(item, f"{where}.{key}" if where else str(key)) for key, item in value.items()
        }
        if len(data) == 1 and next(iter(data)).startswith("$"):
            return {"$map": data}
        return data
    if isinstance(value, list | tuple):
        return [to_payload(item, f"{where}[{index}]") for index, item in enumerate(value)]
    raise NotSendable(
        _("the value of {place} ({type}) cannot be sent to the fleet's workers").format(
            place=where or "?", type=type(value).__name__
        ),
        hint=_("keep plain values (text, numbers, dates, lists, tables) in what the loop's items use"),
    )


_TAGS: dict[str, Any] = {
    "$datetime": dt.datetime.fromisoformat,
    "$date": dt.date.fromisoformat,
    "$time": dt.time.fromisoformat,
    "$decimal": decimal.Decimal,
    "$bytes": lambda text: base64.b64decode(text.encode("ascii")),
    "$float": float,
}


def from_payload(data: Any) -> Any:
    """The value `to_payload` was given."""
    if isinstance(data, list):
        return [from_payload(item) for item in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        [(tag, inner)] = data.items()
        if tag == "$map":
            return {key: from_payload(item) for key, item in inner.items()}
        if tag in _TAGS:
            return _TAGS[tag](inner)
    return {key: from_payload(item) for key, item in data.items()}
