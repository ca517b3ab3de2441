"""Moments the schedule service shows people: a schedule's in the schedule's own zone, the service's in the zone for humans.

A schedule's `timezone:` is the zone its author thought in (`cron: "0 8 * * 1-5"` means 8:00 in it), so its due
times, next fire times and its runs' moments read best there; what belongs to no schedule (a service's start,
its heartbeat) is shown in the zone for humans (`robots.kit.human_zone`). Either way the zone is always named
beside the time (`30/11/2026 08:00:00 (Europe/Paris)`). Stored moments stay UTC; machine fields (webhook JSON,
`ROBO_SCHEDULED_FOR`) stay ISO 8601 with their offset.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date

from robots.kit import current_language, format_moment, human_zone, zone_label, zone_named


def schedule_zone(timezone: str | None) -> ZoneInfo:
    """The zone a schedule's moments are shown in: its own `timezone:`, else the zone for humans."""
    return zone_named(timezone) if timezone else human_zone()


def schedule_moment(moment: dt.datetime | float, timezone: str | None, *, labelled: bool = True) -> str:
    """`30/11/2026 08:00:00 (Europe/Paris)` in French, `2026-11-30 08:00:00 (Europe/Paris)` in English."""
    return format_moment(moment, labelled=labelled, zone=schedule_zone(timezone))


def weekday_moment(moment: dt.datetime, timezone: str | None) -> str:
    """A next fire time with its day of the week, unlabelled (the line names the zone once): `lun. 01/12/2026 08:00:00`."""
    zone = schedule_zone(timezone)
    day = format_date(moment.astimezone(zone).date(), "EEE", locale=current_language())
    return f"{day} {format_moment(moment, zone=zone)}"


def schedule_zone_label(timezone: str | None) -> str:
    """The name shown beside a schedule's moments (`Europe/Paris`, `UTC`)."""
    return zone_label(schedule_zone(timezone))
