"""Crontab as campaign managers know it, whatever APScheduler 3 numbers weekdays from."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from orchestrator.campaigns.language.schedules import ScheduleInvalid, check_timezone, cron_trigger

LONDON = ZoneInfo("Europe/London")
# Sunday 4 January 2026: each weekday of the following week comes once.
SUNDAY = datetime(2026, 1, 4, 0, 0, tzinfo=LONDON)


def fire_days(expression: str, count: int = 7) -> list[str]:
    trigger = cron_trigger(expression, "Europe/London")
    days, previous, now = [], None, SUNDAY
    for _ in range(count):
        previous = trigger.get_next_fire_time(previous, now)
        days.append(previous.strftime("%a"))
        now = previous.replace(minute=previous.minute + 1)
    return days


@pytest.mark.parametrize(
    ("weekday", "expected"),
    [
        ("1", ["Mon"]),
        ("0", ["Sun"]),
        ("7", ["Sun"]),
        ("MON", ["Mon"]),
        ("1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("SAT,SUN", ["Sun", "Sat"]),
        ("0-6/2", ["Sun", "Tue", "Thu", "Sat"]),
        ("*/3", ["Sun", "Wed", "Sat"]),
        ("5-7", ["Sun", "Fri", "Sat"]),
    ],
)
def test_weekdays_mean_what_they_mean_in_crontab(weekday, expected):
    days = fire_days(f"0 9 * * {weekday}", count=len(expected))
    assert days == expected


def test_every_day_stays_every_day():
    assert fire_days("0 9 * * *", count=7) == ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]


@pytest.mark.parametrize("weekday", ["8", "FRI-MON", "MON/2", "1-5/0", "monday", "1,,2"])
def test_bad_weekdays_are_refused(weekday):
    with pytest.raises(ScheduleInvalid, match="the weekday field"):
        cron_trigger(f"0 9 * * {weekday}", "UTC")


def test_time_zones_are_iana_names():
    assert check_timezone("Europe/London") == LONDON
    for bad in ["Mars/Olympus", "", "../etc/passwd", "localtime"]:
        with pytest.raises(ScheduleInvalid, match="unknown time zone"):
            check_timezone(bad)
