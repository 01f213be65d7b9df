"""Frequency caps: how many marketing messages a contact already got on a channel, and
when the next one may go.

Windows are rolling elapsed time ("24 h" is 24 hours before the decision, whatever the
calendar or DST says), counted over sends in ``(now - window, now]``: a send exactly one
window ago no longer counts. Sends dated after ``now`` are not facts yet and are ignored;
the dispatcher runs the policy again when a deferred message comes due, and that run
sees everything sent in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from orchestrator.domain.policy.config import FrequencyCap


@dataclass(frozen=True)
class CapUsage:
    """One cap, applied to one contact and channel at one moment."""

    cap: FrequencyCap
    count: int
    frees_at: datetime | None  # when the count drops below the limit; None if already below

    @property
    def reached(self) -> bool:
        return self.frees_at is not None

    def wait_exceeds_max_deferral(self, now: datetime) -> bool:
        return self.frees_at is not None and self.frees_at - now > self.cap.max_deferral


def cap_usage(cap: FrequencyCap, sends: Iterable[datetime], now: datetime) -> CapUsage:
    counted = sorted(at for at in sends if now - cap.window < at <= now)
    if len(counted) < cap.limit:
        return CapUsage(cap=cap, count=len(counted), frees_at=None)
    # Below the limit again once all but (limit - 1) of the counted sends have aged out;
    # the last of those to leave is counted[len - limit].
    return CapUsage(
        cap=cap, count=len(counted), frees_at=counted[len(counted) - cap.limit] + cap.window
    )
