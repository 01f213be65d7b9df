"""Durations as campaign managers write them: ``30d``, ``12h``, ``90m``, ``45s``, ``2w``,
or several units together, largest first, such as ``1d12h``."""

from __future__ import annotations

import re
from datetime import timedelta

UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}

# Ten years: anything longer is a typo (3650d written as 36500d), and the cap keeps
# the arithmetic far from timedelta's limits.
LONGEST = timedelta(days=3660)

EXAMPLES = "30d, 12h, 90m, 45s, 2w or 1d12h"

_DURATION = re.compile("".join(rf"(?:(\d{{1,9}}){unit})?" for unit in UNIT_SECONDS))


class DurationInvalid(ValueError):
    """Text that is not a duration; the message says what was expected."""


def parse_duration(text: str) -> timedelta:
    """The duration written as ``text``; raises :class:`DurationInvalid` if it is not one."""
    if not isinstance(text, str):
        raise DurationInvalid(
            f"expected a duration such as {EXAMPLES} (a number followed by a unit), "
            f"got {text!r}"
        )
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise DurationInvalid(
            f"{text!r} is not a duration: expected a whole number followed by a unit "
            f"(w weeks, d days, h hours, m minutes, s seconds), largest unit first, "
            f"such as {EXAMPLES}"
        )
    seconds = sum(
        int(amount) * unit_seconds
        for amount, unit_seconds in zip(match.groups(), UNIT_SECONDS.values(), strict=True)
        if amount is not None
    )
    duration = timedelta(seconds=seconds)
    if duration <= timedelta(0):
        raise DurationInvalid(f"{text!r} is zero: a duration must be longer than zero")
    if duration > LONGEST:
        raise DurationInvalid(
            f"{text!r} is longer than {LONGEST.days} days, the longest duration allowed"
        )
    return duration


def format_duration(duration: timedelta) -> str:
    """``duration`` written the way :func:`parse_duration` reads it, shortest form first
    (``timedelta(days=1, hours=12)`` is ``1d12h``). Whole seconds only."""
    remaining = int(duration.total_seconds())
    if remaining <= 0 or duration != timedelta(seconds=remaining):
        raise ValueError(f"cannot write {duration!r} as a duration: expected whole seconds > 0")
    parts = []
    for unit, unit_seconds in UNIT_SECONDS.items():
        amount, remaining = divmod(remaining, unit_seconds)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)
