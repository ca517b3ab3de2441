"""Static checks of `schedule:` entries (cron syntax, impossible dates, time zones, inputs, calendars, windows)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from robots.kit import N_, _, format_number, ngettext
from runner.language.diagnostics import closest, did_you_mean, did_you_mean_text, one_of
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
        found = ", ".join(triggers) if triggers else _("none")
        yield ScheduleProblem(
            (),
            "bad-schedule",
            _("a schedule needs exactly one of cron, every, at (found: {found})").format(found=found),
        )
    timezone = _timezone(entry.timezone)
    if timezone is None:
        yield ScheduleProblem(
            ("timezone",),
            "bad-timezone",
            _("unknown time zone '{zone}'").format(zone=entry.timezone),
            hint=_timezone_hint(entry.timezone),
        )
    if entry.cron is not None:
        problem = cron_problem(entry.cron, entry.timezone if timezone else "UTC")
        if problem:
            yield ScheduleProblem(
                ("cron",),
                "bad-cron",
                problem,
                hint=_("five fields: minute hour day-of-month month day-of-week"),
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
                _("the workflow has no input '{name}'").format(name=name),
                expected=one_of(input_names) if input_names else _("none: the workflow declares no inputs"),
                at_key=True,
            )


def cron_problem(expression: str, timezone: str = "Europe/Paris") -> str | None:
    """What is wrong with a cron expression, read by the schedule service's own trigger; None when it fires."""
    from runner.language.triggers import ScheduleTrigger

    fields = expression.split()
    if len(fields) != 5:
        return ngettext(
            "a cron expression has 5 fields, '{expression}' has {n}",
            "a cron expression has 5 fields, '{expression}' has {n}",
            len(fields),
        ).format(expression=expression, n=len(fields))
    try:
        trigger = ScheduleTrigger(cron=expression, timezone=timezone)
    except ValueError as exc:
        return _("invalid cron expression '{expression}': {problem}").format(
            expression=expression, problem=_cron_field_problem(fields) or exc
        )
    if trigger.get_next_fire_time(None, dt.datetime.now(dt.UTC)) is None:
        return _("the cron expression '{expression}' never fires (an impossible date?)").format(
            expression=expression
        )
    return None


def _calendar_problems(entry: ScheduleEntry) -> Iterator[ScheduleProblem]:
    """Calendars to skip, the active window, jitter and grace."""
    from runner.language.triggers import CALENDARS, parse_time_of_day

    for index, name in enumerate(entry.skip):
        if name not in CALENDARS:
            yield ScheduleProblem(
                ("skip", index),
                "unknown-calendar",
                _("there is no calendar '{name}'").format(name=name),
                expected=one_of(CALENDARS),
                hint=did_you_mean(name, CALENDARS),
            )
    if entry.between is not None:
        example = _("e.g. {example}").format(example='between: ["08:00", "18:00"]')
        if len(entry.between) != 2:
            yield ScheduleProblem(
                ("between",),
                "bad-window",
                _("'between' takes two times of day, a start and an end, {example}").format(example=example),
            )
        else:
            times = [parse_time_of_day(text) for text in entry.between]
            for index, (text, moment) in enumerate(zip(entry.between, times, strict=True)):
                if moment is None:
                    yield ScheduleProblem(
                        ("between", index),
                        "bad-window",
                        _("'{text}' is not a time of day written HH:MM (00:00 to 23:59)").format(text=text),
                        hint=example,
                    )
            if times[0] is not None and times[0] == times[1]:
                yield ScheduleProblem(
                    ("between",), "bad-window", _("the window starts and ends at the same time")
                )
    if entry.every is not None and entry.every < 1:
        yield ScheduleProblem(
            ("every",),
            "bad-schedule",
            _("the interval is in seconds and must be 1 or more, not {every}").format(
                every=format_number(entry.every)
            ),
            hint=_("for example every: 900 for every 15 minutes"),
        )
    elif entry.every is not None and entry.jitter >= entry.every:
        yield ScheduleProblem(
            ("jitter",),
            "bad-schedule",
            _("the jitter ({jitter} s) must be shorter than the interval ({every} s)").format(
                jitter=format_number(entry.jitter), every=format_number(entry.every)
            ),
        )


def _never_fires(entry: ScheduleEntry) -> Iterator[ScheduleProblem]:
    """A schedule whose every time falls on a skipped day or outside its window."""
    from runner.language.triggers import ScheduleTrigger, parse_time_of_day

    if entry.at is not None:
        try:
            ScheduleTrigger(at=entry.at, timezone=entry.timezone)
        except (ValueError, OverflowError):
            yield ScheduleProblem(
                ("at",), "bad-schedule", _("the date {date} is out of range").format(date=entry.at)
            )
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
            _("this schedule never fires: each of its times falls on a skipped day or outside its window"),
        )


# A cron field: its APScheduler name, what it is in words (with its article), and the values it takes.
_CRON_FIELDS = (
    ("minute", N_("the minute"), "0-59"),
    ("hour", N_("the hour"), "0-23"),
    ("day", N_("the day of the month"), "1-31"),
    ("month", N_("the month"), "1-12"),
    ("day_of_week", N_("the day of the week"), N_("0-7 or mon-sun")),
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
            field, allowed = _(label), _(allowed)
            if re.search(r"is (higher than the maximum|lower than the minimum) value", reason):
                return _("{field} '{value}' is out of range ({allowed})").format(
                    field=field, value=value, allowed=allowed
                )
            if reason.startswith("Unrecognized expression"):
                return _("{field} '{value}' is not valid; expected {allowed}").format(
                    field=field, value=value, allowed=allowed
                )
            reason = re.sub(r"^Error validating expression '[^']*': ", "", reason)
            return _("{field} '{value}' is not valid ({reason}); expected {allowed}").format(
                field=field, value=value, reason=reason[:1].lower() + reason[1:], allowed=allowed
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
    return did_you_mean_text(match[0]) if match else _("for example: Europe/Paris")


@cache
def _timezone_names() -> tuple[str, ...]:
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones()))
