"""The moments the product works with: 1900-01-01 up to 2200-01-01, in UTC.

Every time it takes in (a touchpoint's ``at``, ``--as-of``, ``--until``) must fall in this
range after conversion to UTC. Far enough from Python's own limits (years 1 and 9999)
that converting between time zones and adding any duration a journey can state (waits,
re-entry gaps, windows of a few years) stays representable; wide enough for any real
customer history and plan. A fact already recorded outside it (written by an older
version) is skipped by every consumer and reported as a processing failure, never a crash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

EARLIEST: Final = datetime(1900, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2200, 1, 1, tzinfo=UTC)


def out_of_range(moment: datetime) -> str | None:
    """Why ``moment`` (aware) cannot be used, or None when it can."""
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return "is beyond the dates this product can represent"
    if not EARLIEST <= utc < LATEST:
        return (f"is outside the supported range {EARLIEST.date()} to {LATEST.date()} "
                "(UTC)")
    return None


def unusable_time(fact: Any) -> str | None:
    """Why a recorded fact's business time cannot be used, or None when it can (or it has
    none)."""
    text = getattr(fact, "at", None) or getattr(fact, "erased_at", None)
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return f"'at' {text[:40]!r} is not an ISO-8601 time"
    if moment.tzinfo is None:
        return f"'at' {text[:40]!r} has no UTC offset"
    reason = out_of_range(moment)
    return f"'at' {text[:40]} {reason}" if reason else None
