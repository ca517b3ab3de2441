"""Numbers, durations and moments as people read them: their language, one labelled time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from robots.kit import (
    ConfigurationError,
    format_clock,
    format_duration,
    format_moment,
    format_number,
    human_zone,
    in_human_zone,
    set_language,
    set_zone,
    zone_label,
)

MOMENT = dt.datetime(2026, 11, 30, 16, 5, 3, tzinfo=dt.UTC)  # 17:05:03 in Paris (winter), 12:05:03 in Cayenne


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    set_language("en")
    set_zone(None)


@pytest.mark.parametrize(
    ("language", "value", "decimals", "text"),
    [
        ("fr", 12345.5, None, "12\u202f345,5"),
        ("en", 12345.5, None, "12,345.5"),
        ("fr", 0.46, 1, "0,5"),
        ("en", 0.46, 1, "0.5"),
        ("fr", 3, 0, "3"),
    ],
)
def test_numbers_follow_the_language(language: str, value: float, decimals: int | None, text: str) -> None:
    set_language(language)
    assert format_number(value, decimals=decimals) == text


@pytest.mark.parametrize(
    ("language", "seconds", "text"),
    [
        ("fr", 0.46, "0,5 s"),
        ("en", 0.46, "0.5 s"),
        ("fr", 12.4, "12 s"),
        ("fr", 185, "3 min 05 s"),
        ("en", 7800, "2 h 10 min"),
        ("fr", -0.01, "0,0 s"),
    ],
)
def test_durations_read_as_people_write_them(language: str, seconds: float, text: str) -> None:
    set_language(language)
    assert format_duration(seconds) == text


def test_a_moment_is_shown_in_the_chosen_zone_with_its_label() -> None:
    set_zone("Europe/Paris")
    set_language("fr")
    assert format_moment(MOMENT) == "30/11/2026 17:05:03"
    assert format_moment(MOMENT, labelled=True) == "30/11/2026 17:05:03 (Europe/Paris)"
    assert format_clock(MOMENT) == "17:05:03"
    set_language("en")
    assert format_moment(MOMENT, labelled=True) == "2026-11-30 17:05:03 (Europe/Paris)"
    set_zone("America/Cayenne")
    assert format_clock(MOMENT.timestamp()) == "13:05:03"
    assert in_human_zone(MOMENT).utcoffset() == dt.timedelta(hours=-3)


def test_summer_time_is_the_zone_s_not_a_fixed_offset() -> None:
    set_zone("Europe/Paris")
    assert format_clock(dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.UTC)) == "12:00:00"


def test_naive_moments_are_taken_as_stored_in_utc() -> None:
    set_zone("Europe/Paris")
    assert format_clock(dt.datetime(2026, 11, 30, 16, 5, 3)) == "17:05:03"


def test_the_zone_comes_from_the_choice_then_robo_timezone_then_the_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROBO_TIMEZONE", "Indian/Reunion")
    assert human_zone() == ZoneInfo("Indian/Reunion")
    set_zone("Pacific/Noumea")
    assert zone_label() == "Pacific/Noumea"
    set_zone(None)
    assert zone_label() == "Indian/Reunion"
    monkeypatch.delenv("ROBO_TIMEZONE")
    assert human_zone().key  # the machine's zone, whatever it is here: a real zone with a name


def test_every_name_of_utc_is_labelled_utc() -> None:
    assert zone_label(ZoneInfo("Etc/UTC")) == "UTC"
    assert zone_label(ZoneInfo("UTC")) == "UTC"


@pytest.mark.parametrize("name", ["Europe/Pariss", "../../etc/passwd", "", "   "])
def test_an_unknown_zone_is_refused_with_a_hint(name: str) -> None:
    if not name.strip():
        set_zone(name)  # nothing chosen: back to the default
        return
    with pytest.raises(ConfigurationError) as caught:
        set_zone(name)
    assert name in str(caught.value)
    assert "Europe/Paris" in (caught.value.hint or "")


def test_an_unknown_robo_timezone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBO_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigurationError):
        human_zone()
