"""Broadcast schedules: five-field cron expressions in a named time zone.

Campaign managers write classic crontab (``0 9 * * MON``, ``30 8 * * 1-5``). APScheduler
3.x reads crontab with two differences that would silently move a broadcast:

- it numbers weekdays from Monday = 0, where crontab has Sunday = 0 (and 7);
- it fires only when day of month *and* weekday both match, where crontab fires when
  *either* does.

So the weekday field is rewritten to day names before APScheduler sees it, and a
schedule that restricts both the day of month and the weekday is refused as ambiguous.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from datetime import datetime

from apscheduler.triggers.cron import CronTrigger

FIELDS = ("minute", "hour", "day of month", "month", "weekday")
_CRON_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_APSCHEDULER_ORDER = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_TERM = re.compile(r"(?:(?P<all>\*)|(?P<first>\w+)(?:-(?P<last>\w+))?)(?:/(?P<step>\d+))?")
# Any fixed instant does: the question is only whether a fire time exists at all.
_SOME_START = datetime(2001, 1, 1)


class ScheduleInvalid(ValueError):
    """A cron expression or time zone that cannot be used; the message says why."""


def check_timezone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone ``name`` (such as ``Europe/London``); raises
    :class:`ScheduleInvalid`, suggesting the closest names, if there is none."""
    if name not in _known_timezones():
        close = difflib.get_close_matches(name, _known_timezones(), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ScheduleInvalid(
            f"unknown time zone {name!r}: expected an IANA name such as Europe/London or "
            f"UTC{hint}"
        )
    return zoneinfo.ZoneInfo(name)


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    """The APScheduler trigger for the crontab ``expression`` in ``timezone``, with
    crontab's meaning (see the module docstring). Raises :class:`ScheduleInvalid`."""
    zone = check_timezone(timezone)
    fields = expression.split()
    if len(fields) != len(FIELDS):
        raise ScheduleInvalid(
            f"the schedule {expression!r} has {len(fields)} fields; expected 5: "
            f"{', '.join(FIELDS)} (such as '0 9 * * MON')"
        )
    minute, hour, day, month, weekday = fields
    if day != "*" and weekday != "*":
        raise ScheduleInvalid(
            f"the schedule {expression!r} restricts both the day of month and the weekday, "
            "which calendars read differently (either, or both); set one of them to *"
        )
    day_of_week = _weekdays(weekday)
    try:
        trigger = CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, timezone=zone
        )
    except ValueError as exc:
        raise ScheduleInvalid(f"the schedule {expression!r} is not valid: {exc}") from None
    if trigger.get_next_fire_time(None, _SOME_START.replace(tzinfo=zone)) is None:
        raise ScheduleInvalid(f"the schedule {expression!r} never fires (no such date exists)")
    return trigger


def _weekdays(field: str) -> str:
    """The crontab weekday field as APScheduler day names (``1-5`` is ``mon,...,fri``)."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for term in field.split(","):
        match = _WEEKDAY_TERM.fullmatch(term)
        if match is None:
            raise ScheduleInvalid(_weekday_problem(field, term))
        if match["all"]:
            first, last = 0, 6
        else:
            first = _cron_day(match["first"], field)
            last = _cron_day(match["last"], field) if match["last"] else first
            if match["last"] is None and match["step"]:
                raise ScheduleInvalid(_weekday_problem(field, term))
        step = int(match["step"] or 1)
        if last < first or step == 0:
            raise ScheduleInvalid(_weekday_problem(field, term))
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(name for name in _APSCHEDULER_ORDER if _CRON_DAY_NAMES.index(name) in days)


def _cron_day(text: str, field: str) -> int:
    """Crontab day number: Sunday is 0 or 7, Monday 1, ... Saturday 6."""
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text.lower() in _CRON_DAY_NAMES:
        return _CRON_DAY_NAMES.index(text.lower())
    raise ScheduleInvalid(_weekday_problem(field, text))


def _weekday_problem(field: str, term: str) -> str:
    return (
        f"the weekday field {field!r} is not valid at {term!r}: expected *, day names "
        "(MON, TUE, ... SUN), numbers 0-7 (0 and 7 are Sunday), ranges such as MON-FRI "
        "or 1-5, and lists such as MON,WED"
    )


# Files some systems keep beside the zone database; they name this machine's settings,
# not a zone, so a journey using them would behave differently on another machine.
_NOT_ZONES = frozenset({"localtime", "posixrules"})


@functools.cache
def _known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES
