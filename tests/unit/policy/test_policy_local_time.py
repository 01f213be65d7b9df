"""Wall-clock arithmetic for the SMS window, and frequency-cap counting."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from orchestrator.domain.policy import DAILY_CAP, WEEKLY_CAP
from orchestrator.domain.policy.caps import cap_usage
from orchestrator.domain.policy.local_time import (
    earliest_moment_inside_all,
    first_instant_reading,
    load_zone,
    next_moment_inside_window,
)

LONDON, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")
EIGHT, NINE_PM = time(8), time(21)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("zone", "day", "wall", "expected"), [
    (LONDON, date(2026, 5, 12), time(8), utc(2026, 5, 12, 7)),
    # Skipped wall times: the first instant past them is the jump itself.
    (LONDON, date(2026, 3, 29), time(1, 30), utc(2026, 3, 29, 1)),
    (NEW_YORK, date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7)),
    # Repeated wall times: the first occurrence.
    (LONDON, date(2026, 10, 25), time(1, 30), utc(2026, 10, 25, 0, 30)),
    (NEW_YORK, date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30)),
], ids=["ordinary", "london-gap", "new-york-gap", "london-fold", "new-york-fold"])
def test_first_instant_reading(zone: ZoneInfo, day: date, wall: time,
                               expected: datetime) -> None:
    assert first_instant_reading(zone, day, wall) == expected


@pytest.mark.parametrize(("instant", "expected"), [
    (utc(2026, 5, 12, 12), utc(2026, 5, 12, 12)),  # inside: now
    (utc(2026, 5, 12, 5), utc(2026, 5, 12, 7)),  # 06:00 BST: this morning
    (utc(2026, 5, 12, 20), utc(2026, 5, 13, 7)),  # 21:00 BST: tomorrow
    (utc(2026, 10, 24, 21), utc(2026, 10, 25, 8)),  # across the fall-back night: 11 h later
])
def test_next_moment_inside_window_in_london(instant: datetime, expected: datetime) -> None:
    assert next_moment_inside_window(instant, LONDON, EIGHT, NINE_PM) == expected


def test_zones_sharing_no_daytime_have_no_common_moment() -> None:
    # UTC, UTC+8 and UTC-8: their 08:00-21:00 windows never overlap all three at once.
    zones = (ZoneInfo("Etc/UTC"), ZoneInfo("Etc/GMT-8"), ZoneInfo("Etc/GMT+8"))
    assert earliest_moment_inside_all(utc(2026, 5, 12), zones, EIGHT, NINE_PM) is None


def test_two_zones_meet_in_their_shared_daytime() -> None:
    zones = (ZoneInfo("Europe/London"), ZoneInfo("Asia/Tokyo"))
    # Shared daytime: 08:00-12:00 UTC+1 in London is 16:00-20:00 in Tokyo (UTC+9).
    moment = earliest_moment_inside_all(utc(2026, 5, 12, 4), zones, EIGHT, NINE_PM)
    assert moment == utc(2026, 5, 12, 7)


@pytest.mark.parametrize("name", [None, "", "Not/AZone", "America", "../etc/passwd"])
def test_unusable_zone_names_load_as_unknown(name: str | None) -> None:
    assert load_zone(name) is None


def test_cap_counts_only_sends_inside_the_rolling_window() -> None:
    now = utc(2026, 5, 12, 12)
    sends = [now - timedelta(hours=24), now - timedelta(hours=23), now + timedelta(hours=1)]
    usage = cap_usage(DAILY_CAP, sends, now)
    assert (usage.count, usage.frees_at) == (1, now + timedelta(hours=1))


def test_weekly_cap_frees_when_enough_sends_have_aged_out() -> None:
    now = utc(2026, 5, 12, 12)
    sends = [now - timedelta(days=d) for d in (6, 5, 2, 1)]  # already one over the limit
    usage = cap_usage(WEEKLY_CAP, sends, now)
    assert usage.count == 4
    assert usage.frees_at == now - timedelta(days=5) + timedelta(days=7)
    assert usage.wait_exceeds_max_deferral(now)
