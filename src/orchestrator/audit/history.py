"""Audit views of history: a contact as of a moment, an event as an export line, the
journeys a contact was in. They only read, through ``orchestrator.store.reader``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.domain import journey_events as je
from orchestrator.domain.contact import ContactState
from orchestrator.domain.stages import StageThresholds
from orchestrator.store import Store
from orchestrator.store.reader import Recorded, read_log, stream_events


def contact_view(state: ContactState, as_of: datetime, thresholds: StageThresholds,
                 journeys: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The contract shape of ``audit contact C --as-of TS --json``."""
    return {
        "contact": state.contact,
        "as_of": as_of.isoformat(),
        "stage": state.stage(as_of, thresholds),
        "kind": state.kind if state.known else "unknown",
        "purchases_in_window": state.purchases_within(thresholds.window, as_of),
        "consents": [
            {"channel": c.channel, "purpose": c.purpose,
             "status": "granted" if c.granted else "withdrawn", "at": c.at,
             "source": c.source, "evidence": c.evidence, "touchpoint": c.touchpoint}
            for c in sorted(state.consents.values(), key=lambda c: (c.channel, c.purpose))
        ],
        "suppressions": [
            {"channel": s.channel, "reason": s.reason, "at": s.at, "touchpoint": s.touchpoint}
            for s in sorted(state.suppressions.values(), key=lambda s: s.channel)
        ],
        "identities": [
            {"network": i.network, "handle": i.handle, "verified_by": i.verified_by,
             "at": i.at, "touchpoint": i.touchpoint}
            for i in state.identities
        ],
        "details": {"email": state.email, "phone": state.phone, "address": state.address,
                    "timezone": state.timezone, "locale": state.locale,
                    "attributes": state.attributes},
        "erased": state.erased,
        "journeys": journeys or [],
    }


def event_record(recorded: Recorded) -> dict[str, Any]:
    """One event as a line of ``audit export --format jsonl``."""
    event = recorded.event
    body = {name: value for name, value in vars(event).items()
            if name not in ("originator_id", "originator_version", "timestamp")}
    return {
        "position": recorded.position,
        "stream": str(event.originator_id),
        "version": event.originator_version,
        "type": type(event).__name__,
        "recorded_at": event.timestamp.isoformat(),
        **body,
    }


def contact_journeys(store: Store, contact: str, as_of: datetime) -> list[dict[str, Any]]:
    """The journeys the contact had entered by ``as_of``: version, where it stood then,
    and whether (and why) it had left."""
    found = [recorded.event for recorded in read_log(store, only=(je.ContactEnrolled,))
             if recorded.event.contact == contact
             and datetime.fromisoformat(recorded.event.at) <= as_of]
    journeys = []
    for enrolled in found:
        step, ended = None, None
        for event in stream_events(store, enrolled.originator_id):
            if datetime.fromisoformat(event.at) > as_of:
                break
            if isinstance(event, je.StepEntered):
                step = event.step
            elif isinstance(event, je.EnrolmentEnded):
                ended = {"reason": event.reason, "at": event.at}
        journeys.append({"journey": enrolled.journey, "version": enrolled.version,
                         "enrolment": enrolled.enrolment, "entered_at": enrolled.at,
                         "trigger": enrolled.trigger, "step": step,
                         "status": "ended" if ended else "active", "ended": ended})
    return journeys
