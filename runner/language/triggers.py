"""When a schedule fires: calendars of closed days, active windows, and the APScheduler trigger that applies them.

`ScheduleTrigger` wraps a base rule (a cron expression read on the wall clock of the schedule's zone, a fixed
interval of real time, or one date) and skips the fire times that fall on an excluded day or outside the active
window. APScheduler asks it for fire times, and so do `robo schedule list` and the tests: they agree because
they ask the same object.

Cron expressions follow crontab: day of week 0 (or 7) and `sun` are Sunday, 1-5 is Monday to Friday (APScheduler
3 counts from Monday, so numbers are translated to names here), and when both the day of the month and the day
of the week are restricted, a day matching either fires. Daylight saving time, for cron only (an interval counts
real seconds, so `every: 3600` fires every hour of real time across a change):

- a wall time that does not exist (02:30 on the last Sunday of March in Paris) fires once, an hour later;
- a wall time that happens twice (02:30 on the last Sunday of October) fires once, at its first occurrence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from robots.kit import _, format_number, ngettext

UTC = dt.UTC
# Calendars of days to skip: name → (country, subdivision) for the `holidays` package.
CALENDARS: dict[str, tuple[str, str | None]] = {
    "jours_feries": ("FR", None),
    "jours_feries_alsace_moselle": ("FR", "57"),
}
INTERVAL_ANCHOR = dt.datetime(
    2000, 1, 1
)  # intervals count from local midnight of this day: 15 min → :00, :15…
_SEARCH_LIMIT = 20_000
_HORIZON = dt.timedelta(days=5 * 366)
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


@lru_cache(maxsize=64)
def holidays_of(calendar: str, year: int) -> frozenset[dt.date]:
    """The public holidays of a calendar (see `CALENDARS`) in one year."""
    import holidays

    country, subdivision = CALENDARS[calendar]
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def parse_time_of_day(text: str) -> dt.time | None:
    """`"08:00"` or `"8:00:30"` as a time; None when it is no time of day."""
    match = _TIME.match(text.strip())
    if not match:
        return None
    return dt.time(int(match[1]), int(match[2]), int(match[3] or 0))


def read_closed_days(path: Path) -> tuple[frozenset[dt.date], list[tuple[int, int, str]]]:
    """The dates of a closed-days file (one ISO date per line, `#` starts a comment) and its bad lines.

    Each problem is (line, column, message), counting from 1.
    """
    days: set[dt.date] = set()
    problems: list[tuple[int, int, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            days.add(dt.date.fromisoformat(text))
        except ValueError:
            column = line.index(text[0]) + 1
            problems.append(
                (number, column, _("'{text}' is not a date written YYYY-MM-DD").format(text=text))
            )
    return frozenset(days), problems


def crontab_day_of_week(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday) written with names, which APScheduler 3 reads alike.

    A field that does not parse is returned unchanged, for APScheduler to report.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.lower().split(","):
        part, _slash, step_text = item.partition("/")
        if step_text and not step_text.isdigit():
            return field
        step = int(step_text) if step_text else 1
        if step < 1:
            return field
        if part == "*":
            first, last = 0, 6
        else:
            low, dash, high = part.partition("-")
            first_day, last_day = _day_number(low), _day_number(high) if dash else None
            if first_day is None or (dash and last_day is None):
                return field
            first = first_day
            last = last_day if last_day is not None else (6 if step_text else first_day)
            if last == 0 and dash and first > 0:
                last = 7  # "5-7" and "fri-sun" end on Sunday
        if first > last:
            return field
        days.update(day % 7 for day in range(first, last + 1, step))
    order = (1, 2, 3, 4, 5, 6, 0)
    return ",".join(_DAY_NAMES[day] for day in order if day in days)


def _day_number(text: str) -> int | None:
    if text.isdigit():
        number = int(text)
        return number if 0 <= number <= 7 else None
    return _DAY_NAMES.index(text) if text in _DAY_NAMES else None


def crontab_wall_triggers(expression: str) -> list[CronTrigger]:
    """APScheduler triggers that compute a crontab expression's times on a wall clock (UTC standing for it).

    Two triggers when both day fields are restricted: crontab fires on a day matching either of them.
    Raises ValueError for an invalid expression.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a cron expression has 5 fields, '{expression}' has {len(fields)}")
    minute, hour, day, month, day_of_week = fields
    day_of_week = crontab_day_of_week(day_of_week)
    common = {"minute": minute, "hour": hour, "month": month, "timezone": UTC}
    if day != "*" and day_of_week != "*":
        return [CronTrigger(day=day, **common), CronTrigger(day_of_week=day_of_week, **common)]
    return [CronTrigger(day=day, day_of_week=day_of_week, **common)]


def jitter_offset(seed: str, base: dt.datetime, jitter: float) -> dt.timedelta:
    """A delay in [0, jitter) that depends only on the schedule and the due time, so every process agrees."""
    if jitter <= 0:
        return dt.timedelta(0)
    digest = hashlib.sha256(f"{seed}|{base.astimezone(UTC).isoformat()}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return dt.timedelta(milliseconds=int(fraction * jitter * 1000))


class ScheduleTrigger(BaseTrigger):  # type: ignore[misc]
    """A base rule (cron, interval or date) with calendars of closed days, an active window and jitter.

    Picklable: it keeps plain values (the closed days themselves, not the file), so a persistent job store can
    hold it and another process can rebuild it.
    """

    def __init__(
        self,
        *,
        timezone: str = "Europe/Paris",
        cron: str | None = None,
        every: float | None = None,
        at: dt.datetime | None = None,
        skip: Iterable[str] = (),
        closed_days: Iterable[dt.date] = (),
        between: tuple[dt.time, dt.time] | None = None,
        working_days_only: bool = False,
        jitter: float = 0.0,
        seed: str = "",
    ) -> None:
        if sum(value is not None for value in (cron, every, at)) != 1:
            raise ValueError("a schedule needs exactly one of cron, every, at")
        self.timezone = timezone
        self.cron = cron
        self.every = every
        self.at = at
        self.skip = tuple(skip)
        self.closed_days = frozenset(closed_days)
        self.between = between
        self.working_days_only = working_days_only
        self.jitter = jitter
        self.seed = seed
        self._build()

    def _build(self) -> None:
        self.zone = ZoneInfo(self.timezone)
        unknown = [name for name in self.skip if name not in CALENDARS]
        if unknown:
            raise ValueError(f"unknown calendar {unknown[0]!r}")
        self._wall = crontab_wall_triggers(self.cron) if self.cron is not None else []
        self._every_us = round(self.every * 1_000_000) if self.every is not None else 0
        self._anchor = INTERVAL_ANCHOR.replace(tzinfo=self.zone).astimezone(UTC)
        at = self.at
        if at is not None:
            at = at.replace(tzinfo=self.zone) if at.tzinfo is None else at
            at = at.astimezone(UTC)
        self._at = at

    def __getstate__(self) -> dict[str, Any]:
        names = ("timezone", "cron", "every", "at", "skip", "closed_days", "between", "working_days_only")
        state = {name: getattr(self, name) for name in names}
        state.update(jitter=self.jitter, seed=self.seed, version=1)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state.pop("version", None)
        self.__dict__.update(state)
        self._build()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScheduleTrigger) and self.__getstate__() == other.__getstate__()

    def __hash__(self) -> int:
        return hash((self.timezone, self.cron, self.every, self.at, self.seed))

    def __str__(self) -> str:
        # Each part a phrase of its own, in the reader's language (`robo schedule list` shows it).
        if self.cron is not None:
            text = _("cron '{cron}' ({zone})").format(cron=self.cron, zone=self.timezone)
        elif self.every is not None:
            text = _("every {duration} ({zone})").format(duration=_duration(self.every), zone=self.timezone)
        else:
            assert self._at is not None
            moment = self._at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")
            text = _("at {moment} ({zone})").format(moment=moment, zone=self.timezone)
        if self.working_days_only:
            text += _(", working days only")
        if self.between:
            text += _(", between {start} and {end}").format(
                start=_hhmm(self.between[0]), end=_hhmm(self.between[1])
            )
        if self.skip:
            text += _(", skipping {calendars}").format(calendars=", ".join(self.skip))
        if self.closed_days:
            count = len(self.closed_days)
            text += ngettext(", {n} closed day", ", {n} closed days", count).format(n=count)
        if self.jitter:
            text += _(", jitter {duration}").format(duration=_duration(self.jitter))
        return text

    def __repr__(self) -> str:
        return f"<ScheduleTrigger {self}>"

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime | None:
        """The first fire time after `previous_fire_time` (even if it is past), or from `now` when there is none."""
        if previous_fire_time is None:
            threshold, strict = now.astimezone(UTC), False
        else:
            threshold, strict = previous_fire_time.astimezone(UTC), True
        if self._at is not None:
            return self._next_date(threshold, strict)
        probe = threshold - dt.timedelta(seconds=self.jitter)
        probe_strict = strict
        limit = threshold + _HORIZON
        for _attempt in range(_SEARCH_LIMIT):
            base = self._next_base(probe, probe_strict)
            if base is None or base > limit:
                return None
            resume = self._excluded_until(base)
            if resume is not None:
                probe, probe_strict = resume, False
                continue
            fire = base + jitter_offset(self.seed, base, self.jitter)
            if fire > threshold or (fire == threshold and not strict):
                return fire.astimezone(self.zone)
            probe, probe_strict = base, True
        return None

    def fire_times(self, now: dt.datetime, count: int) -> list[dt.datetime]:
        """The next `count` fire times from `now` (fewer when the schedule ends)."""
        times: list[dt.datetime] = []
        previous: dt.datetime | None = None
        while len(times) < count:
            upcoming = self.get_next_fire_time(previous, now)
            if upcoming is None:
                break
            times.append(upcoming)
            previous = upcoming
        return times

    def _next_date(self, threshold: dt.datetime, strict: bool) -> dt.datetime | None:
        assert self._at is not None
        if self._at < threshold or (strict and self._at == threshold):
            return None
        if self._excluded_until(self._at) is not None:
            return None
        return (self._at + jitter_offset(self.seed, self._at, self.jitter)).astimezone(self.zone)

    def _next_base(self, probe: dt.datetime, strict: bool) -> dt.datetime | None:
        """The first time of the base rule after `probe` (or at it, when not strict), in UTC."""
        if self._every_us:
            elapsed = _microseconds(probe - self._anchor)
            steps = elapsed // self._every_us + 1 if strict else -(-elapsed // self._every_us)
            return self._anchor + dt.timedelta(microseconds=steps * self._every_us)
        after = probe if strict else probe - dt.timedelta(microseconds=1)
        return self._next_cron(after)

    def _next_cron(self, after: dt.datetime) -> dt.datetime | None:
        """The first cron time strictly after the instant `after`, searching the zone's wall clock in order."""
        wall = after.astimezone(self.zone).replace(tzinfo=None)
        for _attempt in range(_SEARCH_LIMIT):
            candidates = [
                trigger.get_next_fire_time(None, (wall + dt.timedelta(microseconds=1)).replace(tzinfo=UTC))
                for trigger in self._wall
            ]
            found: list[dt.datetime] = [candidate for candidate in candidates if candidate is not None]
            if not found:
                return None
            wall = min(found).replace(tzinfo=None)
            # fold=0: a time that happens twice is its first occurrence; one that does not exist moves forward
            # by the gap. A wall time whose instant is not after `after` was met already (or merges with it).
            instant = wall.replace(tzinfo=self.zone).astimezone(UTC)
            if instant > after:
                return instant
        return None

    def _excluded_until(self, base: dt.datetime) -> dt.datetime | None:
        """None when `base` may fire; else the instant from which to look again (always after `base`)."""
        local = base.astimezone(self.zone)
        day = local.date()
        resume: dt.datetime | None = None
        if self._closed(day):
            resume = self._local(day + dt.timedelta(days=1), self.between[0] if self.between else dt.time())
        elif self.between is not None:
            start, end = self.between
            moment = local.time().replace(tzinfo=None)
            if start <= end:
                if moment < start:
                    resume = self._local(day, start)
                elif moment > end:
                    resume = self._local(day + dt.timedelta(days=1), start)
            elif end < moment < start:  # a window across midnight, e.g. 22:00 to 06:00
                resume = self._local(day, start)
        if resume is None:
            return None
        return max(resume, base + dt.timedelta(microseconds=1))

    def _closed(self, day: dt.date) -> bool:
        if self.working_days_only and day.weekday() >= 5:
            return True
        if day in self.closed_days:
            return True
        return any(day in holidays_of(name, day.year) for name in self.skip)

    def _local(self, day: dt.date, moment: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, moment).replace(tzinfo=self.zone).astimezone(UTC)


def _microseconds(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _hhmm(moment: dt.time) -> str:
    return moment.strftime("%H:%M:%S" if moment.second else "%H:%M")


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{format_number(seconds / 3600)} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{format_number(seconds / 60)} min"
    return f"{format_number(seconds)} s"
