"""Wall-clock arithmetic for the SMS window, correct across daylight-saving changes.

The window is a local wall-clock rule ("08:00-21:00 where the recipient is"), while the
scheduler works in instants. Converting between the two is where DST bites: on a
spring-forward day some wall-clock times never happen, on a fall-back day some happen
twice, and "tomorrow 08:00" can be 23 or 25 hours away. Everything here goes through
``zoneinfo`` instead of adding hours to local times. Instants returned are in UTC.

Reading the IANA database is the only outside access; it is deterministic for a given
``tzdata`` version, which is pinned through the project's dependencies.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# How far ahead to look for a moment that is daytime in several fallback zones at once.
# Eight days covers a full week plus a DST shift; zones that never share daytime give up.
SEARCH_LIMIT = timedelta(days=8)


def load_zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone called ``name``, or ``None`` when the name is missing or invalid."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # Not a zone ("Nope/Zone"), not a key ("../x"), or a folder ("America").
        return None


def local_wall_time(instant: datetime, zone: ZoneInfo) -> datetime:
    """``instant`` as read on a clock in ``zone``, without tzinfo."""
    return instant.astimezone(zone).replace(tzinfo=None)


def is_inside_window(instant: datetime, zone: ZoneInfo, start: time, end: time) -> bool:
    return start <= instant.astimezone(zone).time() < end


def first_instant_reading(zone: ZoneInfo, day: date, wall: time) -> datetime:
    """The earliest instant at which a clock in ``zone`` reads ``wall`` on ``day`` or later.

    Usually that is the instant reading exactly ``wall``. If ``wall`` is repeated (clocks
    go back) it is the first occurrence. If ``wall`` is skipped (clocks go forward) it is
    the moment of the jump, the first instant of the day past ``wall``.
    """
    target = datetime.combine(day, wall)
    first_reading = target.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if local_wall_time(first_reading, zone) == target:
        return first_reading
    # ``wall`` is in a gap. Read with the offset after the jump (fold=1) it lands before
    # the jump; with the offset before it (fold=0) it lands after. The jump is between,
    # at a whole second (tz data has second resolution): bisect on epoch seconds.
    too_early = math.floor(target.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    late_enough = math.ceil(first_reading.timestamp())
    while late_enough - too_early > 1:
        middle = (too_early + late_enough) // 2
        if local_wall_time(datetime.fromtimestamp(middle, UTC), zone) >= target:
            late_enough = middle
        else:
            too_early = middle
    return datetime.fromtimestamp(late_enough, UTC)


def next_moment_inside_window(instant: datetime, zone: ZoneInfo, start: time, end: time
                              ) -> datetime:
    """``instant`` itself if it is inside the window in ``zone``, else the next opening."""
    if is_inside_window(instant, zone, start, end):
        return instant.astimezone(UTC)
    local = instant.astimezone(zone)
    opening_day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    return first_instant_reading(zone, opening_day, start)


def earliest_moment_inside_all(instant: datetime, zones: tuple[ZoneInfo, ...], start: time,
                               end: time) -> datetime | None:
    """The first instant at or after ``instant`` inside the window in every zone, or
    ``None`` if the zones share no such instant within ``SEARCH_LIMIT``.

    Each step moves to the latest "next opening" among the zones. No step can pass the
    answer (it is inside every zone's window, so no zone's next opening lies beyond it),
    and every step reaches a new opening, so the walk ends on the answer.
    """
    if not zones:
        raise ValueError("earliest_moment_inside_all needs at least one zone")
    candidate = instant.astimezone(UTC)
    give_up_after = candidate + SEARCH_LIMIT
    while candidate <= give_up_after:
        latest_opening = max(next_moment_inside_window(candidate, zone, start, end)
                             for zone in zones)
        if latest_opening == candidate:
            return candidate
        candidate = latest_opening
    return None
