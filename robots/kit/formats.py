"""How people read numbers, durations and moments: in their language (Babel), in one labelled time zone.

Every time a person reads (console lines, `robo runs`, the report, the schedule service's log, notifications) is
shown in one zone for humans: the one chosen for the process (`set_zone`: a project's `robo.toml`, a command
option), else `ROBO_TIMEZONE`, else the machine's (`tzlocal`); it is always labelled (`zone_label`) where a time is
shown. Stored moments stay in UTC; only what people read is converted.
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from babel.numbers import format_decimal

from robots.kit.errors import ConfigurationError
from robots.kit.i18n import _, current_language

ZONE_VARIABLE = "ROBO_TIMEZONE"
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Zulu", "Zulu", "Universal", "Etc/Universal"})

# Babel locale and date-time pattern per language: French reads day/month/year; English gets the ISO order,
# which no reader takes for another date.
_LOCALES = {"fr": "fr_FR", "en": "en_GB"}
_MOMENT_PATTERNS = {"fr": "dd/MM/yyyy HH:mm:ss", "en": "yyyy-MM-dd HH:mm:ss"}
_CLOCK_PATTERN = "HH:mm:ss"

_chosen_zone: ZoneInfo | None = None


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone `name` (`Europe/Paris`), or a ConfigurationError that says what was given."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            _("unknown time zone '{zone}'").format(zone=name),
            hint=_("give an IANA time zone name such as Europe/Paris, America/Cayenne or UTC"),
        ) from exc


def set_zone(name: str | None) -> None:
    """Choose the zone for humans for this process (None: back to ROBO_TIMEZONE or the machine's)."""
    global _chosen_zone
    _chosen_zone = zone_named(name) if name and name.strip() else None


def human_zone() -> ZoneInfo:
    """The one time zone people read times in."""
    if _chosen_zone is not None:
        return _chosen_zone
    named = os.environ.get(ZONE_VARIABLE, "").strip()
    if named:
        return zone_named(named)
    return _machine_zone()


def _machine_zone() -> ZoneInfo:
    from tzlocal import get_localzone_name

    try:
        name = get_localzone_name()
    except (ValueError, LookupError, OSError):  # no zone configured, or one tzlocal cannot read
        name = None
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def zone_label(zone: ZoneInfo | None = None) -> str:
    """How a zone is named next to a time: its IANA name (`Europe/Paris`), `UTC` for every alias of UTC."""
    key = (zone or human_zone()).key
    return "UTC" if key in UTC_NAMES else key


def _locale() -> str:
    return _LOCALES.get(current_language(), "en_GB")


def format_number(value: float, *, decimals: int | None = None) -> str:
    """`12 345,5` in French, `12,345.5` in English; with `decimals`, exactly that many digits after the point."""
    pattern = None if decimals is None else "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return str(format_decimal(value, format=pattern, locale=_locale()))


def format_duration(seconds: float) -> str:
    """A duration as a person reads it: `0,5 s`, `12 s`, `3 min 05 s`, `2 h 10 min`."""
    if seconds < 10:
        return _("{seconds} s").format(seconds=format_number(max(seconds, 0.0), decimals=1))
    whole = round(seconds)
    if whole < 60:
        return _("{seconds} s").format(seconds=whole)
    if whole < 3600:
        return _("{minutes} min {seconds:02d} s").format(minutes=whole // 60, seconds=whole % 60)
    return _("{hours} h {minutes:02d} min").format(hours=whole // 3600, minutes=whole % 3600 // 60)


def _aware(moment: dt.datetime | float) -> dt.datetime:
    """A moment as an aware datetime: epoch seconds and naive datetimes are taken as UTC (how they are stored)."""
    if isinstance(moment, dt.datetime):
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return dt.datetime.fromtimestamp(moment, tz=dt.UTC)


def in_human_zone(moment: dt.datetime | float) -> dt.datetime:
    """The moment as a datetime in the zone for humans."""
    return _aware(moment).astimezone(human_zone())


def format_moment(moment: dt.datetime | float, *, labelled: bool = False) -> str:
    """`30/11/2026 17:37:23` in French, `2026-11-30 17:37:23` in English, in the zone for humans.

    With `labelled`, the zone follows: `30/11/2026 17:37:23 (Europe/Paris)`.
    """
    zone = human_zone()
    pattern = _MOMENT_PATTERNS.get(current_language(), _MOMENT_PATTERNS["en"])
    text = str(format_datetime(_aware(moment), pattern, tzinfo=zone, locale=_locale()))
    return _("{moment} ({zone})").format(moment=text, zone=zone_label(zone)) if labelled else text


def format_clock(moment: dt.datetime | float) -> str:
    """The time of day (`17:37:23`) in the zone for humans, for lines whose day goes without saying."""
    return str(format_datetime(_aware(moment), _CLOCK_PATTERN, tzinfo=human_zone(), locale=_locale()))
