"""Facts the live service records about its own schedule (not about anyone).

A firing of the live service's timer that could not run in time (the process was
stopped, the machine slept, the host was starved for longer than the grace) is a fact
of the history: it explains why a decision or a send came later than its due time. It
names times and counts only, never a person, so it sits outside erasure.
"""

from __future__ import annotations

from uuid import uuid5

from orchestrator.domain.events import LedgerEvent
from orchestrator.domain.subjects import NAMESPACE

# Every missed firing of every scheduler of a store, on one stream of its own.
SCHEDULE_STREAM = uuid5(NAMESPACE, "live-service:schedule")


class TickMissed(LedgerEvent):
    """The live service's timer should have fired at ``scheduled_at`` (and ``firings``
    times in all, the last at ``last_scheduled_at``, ``every_seconds`` apart) but each
    firing was later than ``grace_seconds`` when the scheduler could look at it, at
    ``noticed_at``. Nothing of their work is lost: the next tick advances to its own
    "now", so what was due then is decided and sent then (later than due)."""

    scheduled_at: str
    last_scheduled_at: str
    firings: int
    every_seconds: int
    grace_seconds: int
    noticed_at: str
    scheduler: str  # the member id in the members table (role, not a person)
