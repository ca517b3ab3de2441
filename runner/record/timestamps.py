"""A moment stored as a timezone-aware timestamp and handed to the code as UTC ISO text, as the events carry it.

The database keeps a real `TIMESTAMP WITH TIME ZONE` (PostgreSQL) or SQLAlchemy's `DATETIME` text in UTC (SQLite),
so it sorts and compares moments, not strings; the code keeps reading and writing the text of `utc_now()`
(`2026-11-30T14:20:22.123+00:00`). A moment without an offset is taken as UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def as_utc(moment: dt.datetime) -> dt.datetime:
    """The moment in UTC; one without an offset is taken as UTC already."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


class UtcTimestamp(TypeDecorator[str]):
    """A timezone-aware `DateTime` column read and written as ISO text (UTC, to the millisecond)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        moment = as_utc(value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value)))
        # SQLite's DATETIME text has no offset: the moment is kept there in UTC.
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        return as_utc(moment).isoformat(timespec="milliseconds")
