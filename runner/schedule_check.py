"""Static checks of `schedule:` entries (cron syntax, impossible dates, time zones)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from runner.model import ScheduleEntry

Problem = tuple[str | None, str, str, str | None]


def schedule_problems(entry: ScheduleEntry, input_names: set[str]) -> Iterator[Problem]:
    """(key, code, message, hint) for every problem of one schedule entry."""
    triggers = [key for key in ("cron", "every", "at") if getattr(entry, key) is not None]
    if len(triggers) != 1:
        found = ", ".join(triggers) if triggers else "none"
        yield None, "bad-schedule", f"a schedule needs exactly one of cron, every, at (found: {found})", None
    timezone = _timezone(entry.timezone)
    if timezone is None:
        yield "timezone", "bad-timezone", f"unknown time zone '{entry.timezone}'", "for example: Europe/Paris"
    if entry.cron is not None:
        problem = cron_problem(entry.cron, entry.timezone if timezone else "UTC")
        if problem:
            yield "cron", "bad-cron", problem, "five fields: minute hour day-of-month month day-of-week"
    for name in entry.inputs:
        if name not in input_names:
            yield "inputs", "unknown-input", f"the workflow has no input '{name}'", None


def cron_problem(expression: str, timezone: str = "Europe/Paris") -> str | None:
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        return f"a cron expression has 5 fields, '{expression}' has {len(fields)}"
    try:
        trigger = CronTrigger.from_crontab(expression, timezone=timezone)
    except ValueError as exc:
        return f"invalid cron expression '{expression}': {exc}"
    if trigger.get_next_fire_time(None, dt.datetime.now(dt.UTC)) is None:
        return f"the cron expression '{expression}' never fires (an impossible date?)"
    return None


def _timezone(name: str) -> object | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
