"""Fire times of schedule declarations, against times computed by hand (a fixed `now`: no clock involved)."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path

import pytest

from runner.language import ScheduleTrigger, crontab_day_of_week, holidays_of, read_closed_days
from tests.running import problems

PARIS = "Europe/Paris"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def fires(trigger: ScheduleTrigger, now: dt.datetime, count: int) -> list[str]:
    return [moment.strftime("%Y-%m-%d %H:%M:%S%z") for moment in trigger.fire_times(now, count)]


class TestCrontabWeekdays:
    @pytest.mark.parametrize(
        ("field", "names"),
        [
            ("1-5", "mon,tue,wed,thu,fri"),
            ("mon-fri", "mon,tue,wed,thu,fri"),
            ("0", "sun"),
            ("7", "sun"),
            ("5-7", "fri,sat,sun"),
            ("*/2", "tue,thu,sat,sun"),
            ("1,3,5", "mon,wed,fri"),
            ("*", "*"),
        ],
    )
    def test_numbers_count_from_sunday_as_in_crontab(self, field: str, names: str) -> None:
        assert crontab_day_of_week(field) == names

    def test_an_unreadable_field_is_left_for_apscheduler_to_report(self) -> None:
        assert crontab_day_of_week("8") == "8"
        assert crontab_day_of_week("lundi") == "lundi"

    def test_one_to_five_fires_monday_to_friday(self) -> None:
        trigger = ScheduleTrigger(cron="0 7 * * 1-5", timezone=PARIS)
        # Saturday 2026-05-02: the next fires are Monday to Friday of the week after.
        assert fires(trigger, utc(2026, 5, 2, 12), 6) == [
            "2026-05-04 07:00:00+0200",
            "2026-05-05 07:00:00+0200",
            "2026-05-06 07:00:00+0200",
            "2026-05-07 07:00:00+0200",
            "2026-05-08 07:00:00+0200",
            "2026-05-11 07:00:00+0200",
        ]

    def test_day_of_month_or_day_of_week(self) -> None:
        # crontab: the 1st of the month, and every Monday.
        trigger = ScheduleTrigger(cron="0 9 1 * mon", timezone=PARIS)
        assert fires(trigger, utc(2026, 5, 25, 12), 3) == [
            "2026-06-01 09:00:00+0200",
            "2026-06-08 09:00:00+0200",
            "2026-06-15 09:00:00+0200",
        ]

    def test_first_of_each_month(self) -> None:
        trigger = ScheduleTrigger(cron="0 6 1 * *", timezone=PARIS)
        assert fires(trigger, utc(2026, 10, 15), 3) == [
            "2026-11-01 06:00:00+0100",
            "2026-12-01 06:00:00+0100",
            "2027-01-01 06:00:00+0100",
        ]


class TestDaylightSaving:
    """Paris: 2026-03-29 02:00 CET becomes 03:00 CEST; 2026-10-25 03:00 CEST becomes 02:00 CET."""

    def test_a_daily_time_keeps_its_wall_clock_time_across_both_changes(self) -> None:
        trigger = ScheduleTrigger(cron="0 7 * * *", timezone=PARIS)
        spring = trigger.fire_times(utc(2026, 3, 27, 12), 3)
        assert [moment.astimezone(dt.UTC).strftime("%d %H:%M") for moment in spring] == [
            "28 06:00",
            "29 05:00",
            "30 05:00",
        ]
        autumn = trigger.fire_times(utc(2026, 10, 23, 12), 3)
        assert [moment.astimezone(dt.UTC).strftime("%d %H:%M") for moment in autumn] == [
            "24 05:00",
            "25 06:00",
            "26 06:00",
        ]

    def test_a_time_that_does_not_exist_fires_once_an_hour_later(self) -> None:
        trigger = ScheduleTrigger(cron="30 2 * * *", timezone=PARIS)
        assert fires(trigger, utc(2026, 3, 27, 12), 3) == [
            "2026-03-28 02:30:00+0100",
            "2026-03-29 03:30:00+0200",
            "2026-03-30 02:30:00+0200",
        ]

    def test_a_time_that_happens_twice_fires_once(self) -> None:
        trigger = ScheduleTrigger(cron="30 2 * * *", timezone=PARIS)
        assert fires(trigger, utc(2026, 10, 23, 12), 3) == [
            "2026-10-24 02:30:00+0200",
            "2026-10-25 02:30:00+0200",
            "2026-10-26 02:30:00+0100",
        ]

    def test_every_half_hour_by_cron_skips_the_missing_hour_and_the_repeated_one(self) -> None:
        trigger = ScheduleTrigger(cron="*/30 * * * *", timezone=PARIS)
        assert fires(trigger, utc(2026, 3, 29, 0, 15), 3) == [
            "2026-03-29 01:30:00+0100",
            "2026-03-29 03:00:00+0200",
            "2026-03-29 03:30:00+0200",
        ]
        assert fires(trigger, utc(2026, 10, 24, 23, 45), 4) == [
            "2026-10-25 02:00:00+0200",
            "2026-10-25 02:30:00+0200",
            "2026-10-25 03:00:00+0100",
            "2026-10-25 03:30:00+0100",
        ]

    def test_an_interval_counts_real_time(self) -> None:
        trigger = ScheduleTrigger(every=3600, timezone=PARIS)
        assert fires(trigger, utc(2026, 3, 28, 23, 30), 4) == [
            "2026-03-29 01:00:00+0100",
            "2026-03-29 03:00:00+0200",
            "2026-03-29 04:00:00+0200",
            "2026-03-29 05:00:00+0200",
        ]
        assert fires(trigger, utc(2026, 10, 24, 23, 30), 3) == [
            "2026-10-25 02:00:00+0200",
            "2026-10-25 02:00:00+0100",
            "2026-10-25 03:00:00+0100",
        ]

    def test_missed_fires_are_enumerated_one_by_one_from_the_last_one(self) -> None:
        # What APScheduler does after a restart: each fire after the previous one, even past ones.
        trigger = ScheduleTrigger(cron="0 * * * *", timezone=PARIS)
        previous = dt.datetime(2026, 3, 29, 0, 0, tzinfo=dt.UTC)  # 01:00 CET
        now = utc(2026, 3, 29, 4)
        missed = []
        upcoming = trigger.get_next_fire_time(previous, now)
        while upcoming is not None and upcoming <= now:
            missed.append(upcoming.astimezone(dt.UTC).strftime("%H:%M"))
            upcoming = trigger.get_next_fire_time(upcoming, now)
        assert missed == ["01:00", "02:00", "03:00", "04:00"]  # 03:00, 04:00, 05:00, 06:00 CEST


class TestFrenchPublicHolidays:
    def test_the_calendar_of_2026(self) -> None:
        days = holidays_of("jours_feries", 2026)
        for day in ("2026-05-01", "2026-05-08", "2026-05-14", "2026-05-25", "2026-12-25"):
            assert dt.date.fromisoformat(day) in days
        assert dt.date(2026, 4, 3) not in days
        assert dt.date(2026, 12, 26) not in days

    def test_working_days_at_seven_except_public_holidays(self) -> None:
        trigger = ScheduleTrigger(cron="0 7 * * mon-fri", timezone=PARIS, skip=["jours_feries"])
        # Friday 1 May and Friday 8 May are holidays; so are Thursday 14 May (Ascension) and Monday 25 May.
        assert [moment.date().isoformat() for moment in trigger.fire_times(utc(2026, 4, 30, 12), 8)] == [
            "2026-05-04",
            "2026-05-05",
            "2026-05-06",
            "2026-05-07",
            "2026-05-11",
            "2026-05-12",
            "2026-05-13",
            "2026-05-15",
        ]
        assert [moment.date().isoformat() for moment in trigger.fire_times(utc(2026, 12, 23, 12), 3)] == [
            "2026-12-24",
            "2026-12-28",
            "2026-12-29",
        ]

    def test_alsace_moselle_adds_good_friday_and_saint_stephen(self) -> None:
        national = ScheduleTrigger(cron="0 7 * * *", timezone=PARIS, skip=["jours_feries"])
        alsace = ScheduleTrigger(cron="0 7 * * *", timezone=PARIS, skip=["jours_feries_alsace_moselle"])
        easter = utc(2026, 4, 1, 12)
        assert [m.day for m in national.fire_times(easter, 5)] == [2, 3, 4, 5, 7]  # 6: Easter Monday
        assert [m.day for m in alsace.fire_times(easter, 5)] == [2, 4, 5, 7, 8]  # 3: Good Friday
        christmas = utc(2026, 12, 23, 12)
        assert [m.day for m in national.fire_times(christmas, 4)] == [24, 26, 27, 28]
        assert [m.day for m in alsace.fire_times(christmas, 4)] == [24, 27, 28, 29]

    def test_closed_days_from_a_file(self, tmp_path: Path) -> None:
        path = tmp_path / "fermetures.txt"
        path.write_text("# fermetures du service\n2026-05-04\n\n2026-05-05  # pont\n", encoding="utf-8")
        days, problems = read_closed_days(path)
        assert problems == []
        trigger = ScheduleTrigger(cron="0 7 * * mon-fri", timezone=PARIS, closed_days=days)
        assert [m.day for m in trigger.fire_times(utc(2026, 5, 1, 12), 2)] == [6, 7]

    def test_a_bad_line_of_the_closed_days_file_is_named(self, tmp_path: Path) -> None:
        path = tmp_path / "fermetures.txt"
        path.write_text("2026-05-04\n  04/05/2026\n", encoding="utf-8")
        _days, problems = read_closed_days(path)
        assert problems == [(2, 3, "'04/05/2026' is not a date written YYYY-MM-DD")]


class TestWindows:
    def test_every_fifteen_minutes_between_eight_and_eighteen_both_included(self) -> None:
        trigger = ScheduleTrigger(every=900, timezone=PARIS, between=(dt.time(8), dt.time(18)))
        assert fires(trigger, utc(2026, 5, 4, 15, 40), 4) == [  # 17:40 in Paris
            "2026-05-04 17:45:00+0200",
            "2026-05-04 18:00:00+0200",
            "2026-05-05 08:00:00+0200",
            "2026-05-05 08:15:00+0200",
        ]

    def test_working_days_only_with_holidays(self) -> None:
        trigger = ScheduleTrigger(
            every=900,
            timezone=PARIS,
            between=(dt.time(8), dt.time(18)),
            working_days_only=True,
            skip=["jours_feries"],
        )
        # Thursday 7 May 17:50, then Friday 8 May (holiday), the weekend: Monday 11 May 08:00.
        assert fires(trigger, utc(2026, 5, 7, 15, 50), 2) == [
            "2026-05-07 18:00:00+0200",
            "2026-05-11 08:00:00+0200",
        ]

    def test_a_window_across_midnight(self) -> None:
        trigger = ScheduleTrigger(cron="0 * * * *", timezone=PARIS, between=(dt.time(22), dt.time(2)))
        assert [m.hour for m in trigger.fire_times(utc(2026, 5, 4, 12), 6)] == [22, 23, 0, 1, 2, 22]

    def test_a_schedule_that_never_fires_ends(self) -> None:
        trigger = ScheduleTrigger(cron="0 0 25 12 *", timezone=PARIS, skip=["jours_feries"])
        assert trigger.fire_times(utc(2026, 5, 4), 1) == []


class TestJitterDatesAndPersistence:
    def test_jitter_is_within_bounds_and_the_same_in_every_process(self) -> None:
        one = ScheduleTrigger(cron="0 7 * * *", timezone=PARIS, jitter=600, seed="saisie/matin")
        other = pickle.loads(pickle.dumps(one))
        times = one.fire_times(utc(2026, 5, 1), 20)
        assert times == other.fire_times(utc(2026, 5, 1), 20)
        offsets = {(m - m.replace(minute=0, second=0, microsecond=0)).total_seconds() for m in times}
        assert all(0 <= offset < 600 for offset in offsets)
        assert len(offsets) > 10
        # After a jittered fire, the next one is the next day's, not a second one the same day.
        assert [m.day for m in times[:3]] == [1, 2, 3]

    def test_jitter_does_not_drift_an_interval(self) -> None:
        trigger = ScheduleTrigger(every=60, timezone=PARIS, jitter=30, seed="x")
        times = trigger.fire_times(utc(2026, 5, 1), 50)
        assert [m.replace(second=0, microsecond=0) for m in times] == [
            utc(2026, 5, 1, 0, minute).astimezone(times[0].tzinfo) for minute in range(50)
        ]

    def test_a_one_off_date_in_the_schedules_zone(self) -> None:
        trigger = ScheduleTrigger(at=dt.datetime(2026, 6, 1, 9, 30), timezone=PARIS)
        assert fires(trigger, utc(2026, 5, 1), 3) == ["2026-06-01 09:30:00+0200"]
        assert trigger.fire_times(utc(2026, 6, 2), 1) == []
        closed = ScheduleTrigger(at=dt.datetime(2026, 5, 1, 9), timezone=PARIS, skip=["jours_feries"])
        assert closed.fire_times(utc(2026, 4, 1), 1) == []

    def test_a_pickled_trigger_gives_the_same_times(self) -> None:
        trigger = ScheduleTrigger(
            every=900,
            timezone=PARIS,
            between=(dt.time(8), dt.time(18)),
            skip=["jours_feries_alsace_moselle"],
            closed_days=[dt.date(2026, 5, 4)],
        )
        copy = pickle.loads(pickle.dumps(trigger))
        assert copy == trigger
        assert copy.fire_times(utc(2026, 5, 1), 10) == trigger.fire_times(utc(2026, 5, 1), 10)


class TestValidation:
    def test_a_full_declaration_is_valid(self) -> None:
        assert (
            problems(
                "name: x\nschedule:\n"
                '  - cron: "0 7 * * mon-fri"\n'
                "    skip: [jours_feries]\n"
                '    between: ["06:00", "20:00"]\n'
                "    working_days_only: true\n"
                "    misfire: skip\n"
                "    grace: 60\n"
                "    jitter: 30\n"
                "notify: {email: [chef@mairie.fr], send_on: [failure, recovery, success]}\n"
                "steps: [{log: a}]\n"
            )
            == []
        )

    def test_an_impossible_cron_is_still_an_error(self) -> None:
        assert problems('name: x\nschedule:\n  - cron: "0 0 31 2 *"\nsteps: [{log: a}]\n') == [
            "3:11 bad-cron: the cron expression '0 0 31 2 *' never fires (an impossible date?)"
        ]

    def test_new_keys_point_at_their_place(self) -> None:
        found = problems(
            "name: x\nschedule:\n"
            "  - every: 60\n"
            "    jitter: 90\n"
            "    skip: [jours_ferie]\n"
            '    between: ["8h", "18:00"]\n'
            "steps: [{log: a}]\n"
        )
        assert found == [
            "4:13 bad-schedule: the jitter (90 s) must be shorter than the interval (60 s)",
            "5:12 unknown-calendar: there is no calendar 'jours_ferie'",
            "6:15 bad-window: '8h' is not a time of day written HH:MM (00:00 to 23:59)",
        ]
        assert problems("name: x\nschedule:\n  - every: 60\n    misfire: later\nsteps: [{log: a}]\n") == [
            "4:14 wrong-type: 'schedule.misfire' should be 'run_once_late' or 'skip'"
        ]

    def test_a_schedule_that_never_fires_because_of_its_calendar(self) -> None:
        assert problems(
            'name: x\nschedule:\n  - cron: "0 8 * * sat"\n    working_days_only: true\nsteps: [{log: a}]\n'
        ) == [
            (
                "3:5 bad-schedule: this schedule never fires: each of its times falls on a skipped day or "
                "outside its window"
            )
        ]

    def test_an_interval_under_a_second_and_a_date_out_of_range(self) -> None:
        assert problems(
            "name: x\nschedule:\n  - every: 0.5\n  - at: 0001-01-01 00:00\nsteps: [{log: a}]\n"
        ) == [
            "3:12 bad-schedule: the interval is in seconds and must be 1 or more, not 0.5",
            "4:9 bad-schedule: the date 0001-01-01 00:00:00 is out of range",
        ]


class TestSundayAsSeven:
    """Crontab's Sunday is 0 or 7 (the README says so): `robo validate` reads a cron with the service's trigger."""

    @pytest.mark.parametrize("cron", ["0 7 * * 7", "0 7 * * 5-7", "0 7 * * 0,7", "0 7 * * fri-sun"])
    def test_validate_accepts_it(self, cron: str) -> None:
        assert problems(f'name: x\nschedule:\n  - cron: "{cron}"\nsteps: [{{log: a}}]\n') == []

    def test_seven_fires_on_sundays(self) -> None:
        # 2026-06-03 is a Wednesday; 7:00 in Paris is 5:00 UTC in summer
        assert fires(ScheduleTrigger(cron="0 7 * * 7", timezone=PARIS), utc(2026, 6, 3), 2) == [
            "2026-06-07 07:00:00+0200",
            "2026-06-14 07:00:00+0200",
        ]

    def test_five_to_seven_fires_friday_to_sunday(self) -> None:
        assert fires(ScheduleTrigger(cron="0 7 * * 5-7", timezone=PARIS), utc(2026, 6, 3), 4) == [
            "2026-06-05 07:00:00+0200",
            "2026-06-06 07:00:00+0200",
            "2026-06-07 07:00:00+0200",
            "2026-06-12 07:00:00+0200",
        ]

    def test_eight_is_still_out_of_range(self) -> None:
        assert problems('name: x\nschedule:\n  - cron: "0 7 * * 8"\nsteps: [{log: a}]\n') == [
            (
                "3:11 bad-cron: invalid cron expression '0 7 * * 8': the day of the week '8' is out of range "
                "(0-7 or mon-sun)"
            )
        ]
