"""Static checks of `schedule:` entries (cron syntax, impossible dates, time zones, inputs, calendars, windows)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from runner.language.diagnostics import closest, did_you_mean, one_of
from runner.language.model import ScheduleEntry


@dataclass(frozen=True, slots=True)
class ScheduleProblem:
    """One problem of a schedule entry; `path` leads from the entry to the node it concerns."""

    path: tuple[str | int, ...]
    code: str
    message: str
    hint: str | None = None
    expected: str | None = None
    at_key: bool = False


def schedule_problems(entry: ScheduleEntry, input_names: Sequence[str] | None) -> Iterator[ScheduleProblem]:
    """Every problem of one schedule entry (`input_names` None: the inputs could not be read, do not check)."""
    triggers = [key for key in ("cron", "every", "at") if getattr(entry, key) is not None]
    if len(triggers) != 1:
        found = ", ".join(triggers) if triggers else "none"
        yield ScheduleProblem(
            (), "bad-schedule", f"a schedule needs exactly one of cron, every, at (found: {found})"
        )
    timezone = _timezone(entry.timezone)
    if timezone is None:
        yield ScheduleProblem(
            ("timezone",),
            "bad-timezone",
            f"unknown time zone '{entry.timezone}'",
            hint=_timezone_hint(entry.timezone),
        )
    if entry.cron is not None:
        problem = cron_problem(entry.cron, entry.timezone if timezone else "UTC")
        if problem:
            yield ScheduleProblem(
                ("cron",), "bad-cron", problem, hint="five fields: minute hour day-of-month month day-of-week"
            )
    else:
        problem = None
    own_problems = list(_calendar_problems(entry))
    yield from own_problems
    if len(triggers) == 1 and timezone is not None and problem is None and not own_problems:
        yield from _never_fires(entry)
    for name in entry.inputs:
        if input_names is not None and name not in input_names:
            yield ScheduleProblem(
                ("inputs", name),
                "unknown-input",
                f"the workflow has no input '{name}'",
                expected=one_of(input_names) if input_names else "none: the workflow declares no inputs",
                at_key=True,
            )


def cron_problem(expression: str, timezone: str = "Europe/Paris") -> str | None:
    """What is wrong with a cron expression, read by the schedule service's own trigger; None when it fires."""
    from runner.language.triggers import ScheduleTrigger

    fields = expression.split()
    if len(fields) != 5:
        return f"a cron expression has 5 fields, '{expression}' has {len(fields)}"
    try:
        trigger = ScheduleTrigger(cron=expression, timezone=timezone)
    except ValueError as exc:
        return f"invalid cron expression '{expression}': {_cron_field_problem(fields) or exc}"
    if trigger.get_next_fire_time(None, dt.datetime.now(dt.UTC)) is None:
        return f"the cron expression '{expression}' never fires (an impossible date?)"
    return None


def _calendar_problems(entry: ScheduleEntry) -> Iterator[ScheduleProblem]:
    """Calendars to skip, the active window, jitter and grace."""
    from runner.language.triggers import CALENDARS, parse_time_of_day

    for index, name in enumerate(entry.skip):
        if name not in CALENDARS:
            yield ScheduleProblem(
                ("skip", index),
                "unknown-calendar",
                f"there is no calendar '{name}'",
                expected=one_of(CALENDARS),
                hint=did_you_mean(name, CALENDARS),
            )
    if entry.between is not None:
        example = 'e.g. between: ["08:00", "18:00"]'
        if len(entry.between) != 2:
            yield ScheduleProblem(
                ("between",), "bad-window", f"'between' takes two times of day, a start and an end, {example}"
            )
        else:
            times = [parse_time_of_day(text) for text in entry.between]
            for index, (text, moment) in enumerate(zip(entry.between, times, strict=True)):
                if moment is None:
                    yield ScheduleProblem(
                        ("between", index),
                        "bad-window",
                        f"'{text}' is not a time of day written HH:MM (00:00 to 23:59)",
                        hint=example,
                    )
            if times[0] is not None and times[0] == times[1]:
                yield ScheduleProblem(
                    ("between",), "bad-window", "the window starts and ends at the same time"
                )
    if entry.every is not None and entry.every < 1:
        yield ScheduleProblem(
            ("every",),
            "bad-schedule",
            f"the interval is in seconds and must be 1 or more, not {entry.every:g}",
            hint="for example every: 900 for every 15 minutes",
        )
    elif entry.every is not None and entry.jitter >= entry.every:
        yield ScheduleProblem(
            ("jitter",),
            "bad-schedule",
            f"the jitter ({entry.jitter:g} s) must be shorter than the interval ({entry.every:g} s)",
        )


def _never_fires(entry: ScheduleEntry) -> Iterator[ScheduleProblem]:
    """A schedule whose every time falls on a skipped day or outside its window."""
    from runner.language.triggers import ScheduleTrigger, parse_time_of_day

    if entry.at is not None:
        try:
            ScheduleTrigger(at=entry.at, timezone=entry.timezone)
        except (ValueError, OverflowError):
            yield ScheduleProblem(("at",), "bad-schedule", f"the date {entry.at} is out of range")
        return
    if not (entry.skip or entry.between or entry.working_days_only):
        return
    window = None
    if entry.between is not None:
        start, end = (parse_time_of_day(text) for text in entry.between)
        window = (start, end) if start is not None and end is not None else None
    trigger = ScheduleTrigger(
        timezone=entry.timezone,
        cron=entry.cron,
        every=entry.every,
        skip=entry.skip,
        between=window,
        working_days_only=entry.working_days_only,
    )
    if trigger.get_next_fire_time(None, dt.datetime.now(dt.UTC)) is None:
        yield ScheduleProblem(
            (),
            "bad-schedule",
            "this schedule never fires: each of its times falls on a skipped day or outside its window",
        )


_CRON_FIELDS = (
    ("minute", "minute", "0-59"),
    ("hour", "hour", "0-23"),
    ("day", "day of the month", "1-31"),
    ("month", "month", "1-12"),
    ("day_of_week", "day of the week", "0-7 or mon-sun"),
)


def _cron_field_problem(fields: list[str]) -> str | None:
    """Which of the five fields is wrong, and how, in words (APScheduler says 'Error validating expression')."""
    from apscheduler.triggers.cron import CronTrigger

    from runner.language.triggers import crontab_day_of_week

    for (name, label, allowed), value in zip(_CRON_FIELDS, fields, strict=True):
        try:
            CronTrigger(**{name: crontab_day_of_week(value) if name == "day_of_week" else value})
        except ValueError as exc:
            reason = str(exc)
            if re.search(r"is (higher than the maximum|lower than the minimum) value", reason):
                return f"the {label} '{value}' is out of range ({allowed})"
            if reason.startswith("Unrecognized expression"):
                return f"the {label} '{value}' is not valid; expected {allowed}"
            reason = re.sub(r"^Error validating expression '[^']*': ", "", reason)
            return (
                f"the {label} '{value}' is not valid ({reason[:1].lower()}{reason[1:]}); expected {allowed}"
            )
    return None


def _timezone(name: str) -> object | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _timezone_hint(name: str) -> str:
    names = _timezone_names()
    by_city = [zone for zone in names if zone.rsplit("/", 1)[-1].lower() == name.strip().lower()]
    match = by_city[:1] or closest(name, names)
    return f"did you mean '{match[0]}'?" if match else "for example: Europe/Paris"


@cache
def _timezone_names() -> tuple[str, ...]:
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones()))
