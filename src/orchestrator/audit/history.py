"""Reading the history back: the notification log in order, and one contact's facts.

Replay never sends and never writes: these functions only read the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from orchestrator.domain import events as ev
from orchestrator.domain import subjects
from orchestrator.domain.contact import ContactState, fold
from orchestrator.domain.events import ERASED
from orchestrator.domain.stages import StageThresholds
from orchestrator.store import Store

PAGE = 2000


@dataclass(frozen=True)
class Recorded:
    position: int
    event: Any


def read_log(store: Store, *, after: int = 0, upto: int | None = None,
             only: tuple[type, ...] = ()) -> Iterator[Recorded]:
    """Every recorded event in notification (recording) order, personal fields unsealed
    where the subject's key still exists; ``only`` these event classes when given (the
    database filters them)."""
    recorder = store.recorder
    mapper = store.ledger.mapper
    topics = [get_topic(cls) for cls in only]
    while True:
        page = recorder.select_notifications(after + 1, PAGE, stop=upto, topics=topics)
        if not page:
            return
        _prefetch_keys(store, {n.originator_id for n in page})
        for notification in page:
            yield Recorded(notification.id, mapper.to_domain_event(notification))
        after = page[-1].id


def _prefetch_keys(store: Store, streams: set[Any]) -> None:
    ids = [s if isinstance(s, UUID) else UUID(str(s)) for s in streams]
    with store.read() as tables:
        found = tables.load_keys(ids)
    store.ledger.keys.remember({subject: found.get(subject) for subject in ids})


def touchpoint_event(store: Store, touchpoint_id: str) -> Recorded | None:
    """The recorded touchpoint with the producer's id ``touchpoint_id``, if any."""
    with store.read() as tables:
        position = tables.touchpoint_positions([touchpoint_id]).get(touchpoint_id)
    if position is None:
        return None
    [notification] = store.recorder.select_notifications(position, 1)
    return Recorded(position, store.ledger.mapper.to_domain_event(notification))


def stream_events(store: Store, stream: UUID) -> list[Any]:
    return list(store.ledger.events.get(stream))


def contact_facts(store: Store, contact: str) -> list[Any]:
    """The facts about one contact: its own stream, plus the streams of every phone
    number it has had (inbound SMS, STOP) and every handle tied to it."""
    own = stream_events(store, subjects.contact_stream(contact))
    facts = list(own)
    for stream in sorted(related_subjects(own)):
        facts.extend(stream_events(store, stream))
    return facts


def related_subjects(own_facts: list[Any]) -> set[UUID]:
    """Phone and handle streams named by a contact's own facts (readable ones only:
    once erased, the link from the contact to them is gone too)."""
    related: set[UUID] = set()
    for fact in own_facts:
        if isinstance(fact, ev.ContactDetailsRecorded) and fact.phone not in (None, ERASED):
            related.add(subjects.phone_stream(fact.phone))
        if isinstance(fact, ev.IdentityLinked) and fact.handle not in (None, ERASED):
            related.add(subjects.handle_stream(fact.network, fact.handle))
    return related


def contact_subjects(store: Store, contact: str) -> set[UUID]:
    own_stream = subjects.contact_stream(contact)
    return {own_stream, *related_subjects(stream_events(store, own_stream))}


def contact_state(store: Store, contact: str, as_of: datetime | None) -> ContactState | None:
    facts = contact_facts(store, contact)
    if not facts:
        return None
    return fold(contact, facts, as_of)


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
    from orchestrator.domain import journey_events as je
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
