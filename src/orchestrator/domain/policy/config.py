"""The policy's configuration. The defaults are the SPEC's defaults; where the SPEC is
silent, the choice and its reason are written next to the field.

A ``PolicyConfig`` is validated when it is built, so a bad configuration fails at start-up
(``PolicyInputError``), never in the middle of a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from typing import Final

from orchestrator.domain.policy.errors import PolicyInputError
from orchestrator.domain.policy.local_time import load_zone
from orchestrator.domain.policy.vocabulary import PRIVATE_CHANNELS, Rule


@dataclass(frozen=True, kw_only=True)
class FrequencyCap:
    """At most ``limit`` marketing messages per contact per channel in any rolling
    ``window`` of elapsed time.

    A capped message waits for the oldest counted send to leave the window. If that is
    more than ``max_deferral`` away, the message is suppressed instead: a journey step's
    content is timely, and a message parked for days crowds out the ones after it.
    """

    name: str
    limit: int
    window: timedelta
    max_deferral: timedelta

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").isalnum():
            raise PolicyInputError(f"frequency cap name must be a word, got {self.name!r}")
        if self.limit < 1:
            raise PolicyInputError(f"frequency cap {self.name}: limit must be >= 1")
        if self.window <= timedelta(0):
            raise PolicyInputError(f"frequency cap {self.name}: window must be positive")
        if self.max_deferral < timedelta(0):
            raise PolicyInputError(f"frequency cap {self.name}: max_deferral must be >= 0")

    @property
    def rule(self) -> str:
        return f"{Rule.CAP_PREFIX}{self.name}"


# SPEC default: 1 marketing message per contact per channel per 24 h. Its slot always
# frees within 24 h, so it always defers.
DAILY_CAP: Final = FrequencyCap(
    name="daily", limit=1, window=timedelta(hours=24), max_deferral=timedelta(hours=24)
)
# SPEC default: 3 per 7 days. The SPEC lets a cap "defer or suppress"; our choice: defer
# when the slot frees within 24 h (no longer than the daily cap can hold a message),
# otherwise suppress.
WEEKLY_CAP: Final = FrequencyCap(
    name="weekly", limit=3, window=timedelta(days=7), max_deferral=timedelta(hours=24)
)


@dataclass(frozen=True, kw_only=True)
class PolicyConfig:
    """Channel policy settings (SPEC "Channel policy": rules are configuration).

    - ``private_channel_order``: preference order for private channels (SPEC default).
    - ``known_customer_kinds``: contact kinds that count as known customers for
      relationship messages; a verified identity link counts too (SPEC rule 2).
    - ``sms_window_start`` / ``sms_window_end``: SMS is sent when the recipient's local
      wall-clock time is in ``[start, end)``; at 21:00 sharp it is already too late.
    - ``sms_fallback_timezones``: used when the contact's time zone is unknown or not a
      valid IANA name. The instant must then be inside the window in *every* listed zone
      (list the earliest and the latest zone your recipients plausibly live in). The
      default is empty, the strictest rule: with no zone known, no moment is provably
      daytime for the recipient, so SMS is not used for that contact (the next private
      channel is tried). "Every zone from UTC-12 to UTC+14" was rejected because no
      instant is inside a 13-hour window across a 26-hour spread of offsets.
    - ``frequency_caps``: counted per contact per channel over marketing sends only.
    - ``no_marketing_kinds``: kinds (or stages) that receive no marketing (SPEC rule 4).
    - ``review_stances`` / ``review_author_kinds``: a reply to a mention with such a
      stance, or by such an author, is held for a person to review (SPEC rule 4).
    """

    private_channel_order: tuple[str, ...] = PRIVATE_CHANNELS
    known_customer_kinds: frozenset[str] = frozenset({"customer"})
    sms_window_start: time = time(8, 0)
    sms_window_end: time = time(21, 0)
    sms_fallback_timezones: tuple[str, ...] = ()
    frequency_caps: tuple[FrequencyCap, ...] = (DAILY_CAP, WEEKLY_CAP)
    no_marketing_kinds: frozenset[str] = frozenset({"press", "regulator", "competitor"})
    review_stances: frozenset[str] = frozenset({"hostile"})
    review_author_kinds: frozenset[str] = frozenset({"press", "competitor"})

    @property
    def longest_cap_window(self) -> timedelta:
        """How far back any frequency cap counts sends (zero without caps)."""
        return max((cap.window for cap in self.frequency_caps), default=timedelta(0))

    def __post_init__(self) -> None:
        # Accept any iterable from configuration files, store immutable values.
        for name in ("known_customer_kinds", "no_marketing_kinds", "review_stances",
                     "review_author_kinds"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        for name in ("private_channel_order", "sms_fallback_timezones", "frequency_caps"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

        order = self.private_channel_order
        if not order:
            raise PolicyInputError("private_channel_order must name at least one channel")
        if len(set(order)) != len(order) or not set(order) <= set(PRIVATE_CHANNELS):
            raise PolicyInputError(
                f"private_channel_order must list distinct channels of {PRIVATE_CHANNELS}, "
                f"got {order}"
            )
        start, end = self.sms_window_start, self.sms_window_end
        if start.tzinfo is not None or end.tzinfo is not None:
            raise PolicyInputError("the SMS window is local wall-clock time: no tzinfo")
        if not start < end:
            # A window across midnight is possible in principle, but nobody asked for
            # night-time SMS; refusing it keeps the quiet-hours arithmetic obvious.
            raise PolicyInputError(f"sms_window_start {start} must be before end {end}")
        for zone in self.sms_fallback_timezones:
            if load_zone(zone) is None:
                raise PolicyInputError(f"sms_fallback_timezones: unknown IANA zone {zone!r}")
        names = [cap.name for cap in self.frequency_caps]
        if len(set(names)) != len(names):
            raise PolicyInputError(f"frequency cap names must be distinct, got {names}")
