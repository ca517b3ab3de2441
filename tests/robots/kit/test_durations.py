"""Durations as workflow authors write them, in English or French units, everywhere the language takes one."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import TypeAdapter, ValidationError

from robots.kit import NOT_A_DURATION, Seconds, to_seconds
from runner.language import ScheduleEntry
from tests.running import problems


class TestToSeconds:
    @pytest.mark.parametrize(
        ("written", "seconds"),
        [
            (90, 90),
            (1.5, 1.5),
            ("90", 90),
            ("90s", 90),
            ("500ms", 0.5),
            ("250 ms", 0.25),
            ("10 secondes", 10),
            ("15m", 900),
            ("15 min", 900),
            ("30 mn", 1800),
            ("1h30", 5400),
            ("1 h 30", 5400),
            ("2h15m", 8100),
            ("1 heure et 30 minutes", 5400),
            ("2 heures", 7200),
            ("1:30:00", 5400),
            ("1 jour", 86_400),
            ("2j", 172_800),
            ("1 semaine", 604_800),
            (dt.timedelta(minutes=5), 300),
        ],
    )
    def test_what_people_write(self, written: object, seconds: float) -> None:
        assert to_seconds(written) == seconds

    @pytest.mark.parametrize("written", ["abc", "15 minutes environ", "h30", ""])
    def test_a_text_that_is_no_duration_is_refused_with_examples(self, written: str) -> None:
        with pytest.raises(ValueError, match="such as 90s, 15m"):
            to_seconds(written)

    def test_bounds_apply_to_the_seconds(self) -> None:
        adapter: TypeAdapter[float] = TypeAdapter(Seconds)
        assert adapter.validate_python("2 min") == 120
        with pytest.raises(ValidationError, match="less than or equal to 86400"):
            adapter.validate_python("2 jours")
        with pytest.raises(ValidationError, match="greater than 0"):
            adapter.validate_python("-5m")

    def test_a_schedule_every_fifteen_minutes(self) -> None:
        assert ScheduleEntry(every="15m").every == 900


class TestInWorkflows:
    def test_durations_in_every_place_of_the_language(self) -> None:
        assert (
            problems(
                "name: x\n"
                "defaults: {timeout: 2 min, run_timeout: 8h, retry: {attempts: 3, delay: 30s, max_delay: 5m}}\n"
                "schedule:\n"
                "  - every: 15m\n"
                "    jitter: 1 min\n"
                '    between: ["08:00", "18:00"]\n'
                "steps:\n"
                "  - http.get: {url: 'http://127.0.0.1:9/', timeout: 45s}\n"
                "    timeout: 1 minute\n"
                "    retry: {attempts: 2, delay: 20 min}\n"
            )
            == []
        )

    def test_a_wrong_duration_says_what_is_expected_where(self) -> None:
        assert problems("name: x\ndefaults: {timeout: bientôt}\nsteps: [{log: a}]\n") == [
            f"2:21 wrong-type: 'defaults.timeout' {NOT_A_DURATION}"
        ]
        assert problems("name: x\nsteps:\n  - http.get: {url: 'http://h/', timeout: 3 ans}\n") == [
            f"3:43 wrong-type: http.get: parameter 'timeout' {NOT_A_DURATION}"
        ]
