"""Reading the store back: the notification log in order, one stream, one touchpoint by
the producer's id, and one contact's facts (its own stream plus its phones and handles).

These functions only read. The send path and the audit views both use them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from orchestrator.domain import events as ev
from orchestrator.domain import journey_events as je
from orchestrator.domain import message_lifecycle as lifecycle
from orchestrator.domain import subjects
from orchestrator.domain.contact import ContactState, fold
from orchestrator.domain.events import ERASED
from orchestrator.domain.suppressions import ChannelFeedback
from orchestrator.store import Store

PAGE = 2000
SUPPRESSING_FEEDBACK = (ev.MessageBounced, ev.MessageComplained, ev.MessageUnsubscribed)


@dataclass(frozen=True)
class Recorded:
    position: int
    event: Any


def read_log(store: Store, *, after: int = 0, upto: int | None = None,
             only: tuple[type, ...] = ()) -> Iterator[Recorded]:
    """Every recorded event in notification (recording) order, personal fields unsealed
    where the subject's key still exists; ``only`` these event classes when given (the
    database filters them)."""
    for page in read_log_pages(store, after=after, upto=upto, only=only):
        yield from page


def read_log_pages(store: Store, *, after: int = 0, upto: int | None = None,
                   only: tuple[type, ...] = (), page_size: int = PAGE
                   ) -> Iterator[list[Recorded]]:
    """:func:`read_log` a page at a time. Each page is one query that brings every row
    with its subject's key (no key look-up of its own), each page in its own read
    transaction, as before."""
    for positions, events in _decoded_pages(store, after, upto, only, page_size):
        yield [Recorded(position, event) for position, event in zip(positions, events,
                                                                    strict=True)]


def event_pages(store: Store, *, after: int = 0, page_size: int = PAGE
                ) -> Iterator[tuple[int, list[Any]]]:
    """The log after ``after`` as (last position, events) a page at a time: what
    :func:`read_log_pages` reads, for a consumer that tracks pages, not events (the read
    models' catch-up)."""
    for positions, events in _decoded_pages(store, after, None, (), page_size):
        yield positions[-1], events


def _decoded_pages(store: Store, after: int, upto: int | None, only: tuple[type, ...],
                   page_size: int) -> Iterator[tuple[list[int], list[Any]]]:
    mapper = store.ledger.mapper
    decode = mapper.event_from_row
    topics = [get_topic(cls) for cls in only]
    streams: dict[Any, UUID] = {}
    while True:
        with store.read() as tables:
            rows = tables.log_rows_with_keys(after, page_size, upto=upto, topics=topics)
        if not rows:
            return
        if len(streams) > STREAM_IDS_KEPT:
            streams.clear()
        events = []
        for _, stream, version, topic, state, key in rows:
            subject = streams.get(stream)
            if subject is None:
                subject = streams[stream] = stream if isinstance(stream, UUID) else UUID(stream)
            events.append(decode(topic, subject, version, state, key))
        yield [row[0] for row in rows], events
        after = rows[-1][0]


STREAM_IDS_KEPT = 50_000


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


STREAMS_A_QUERY = 500


def streams_events(store: Store, streams: Iterable[UUID]) -> dict[UUID, list[Any]]:
    """The events of each of ``streams`` (an empty list for an unknown one), in as few
    queries as there are :data:`STREAMS_A_QUERY` streams: what :func:`stream_events`
    returns for each, read together."""
    wanted = list(dict.fromkeys(streams))
    found: dict[UUID, list[Any]] = {stream: [] for stream in wanted}
    mapper = store.ledger.mapper
    for start in range(0, len(wanted), STREAMS_A_QUERY):
        with store.read() as tables:
            rows = tables.stored_events(wanted[start:start + STREAMS_A_QUERY])
        _prefetch_keys(store, {row.originator_id for row in rows})
        for row in rows:
            found[row.originator_id].append(mapper.to_domain_event(row))
    return found


def contact_states(store: Store, contacts: Iterable[str]) -> dict[str, ContactState | None]:
    """:func:`contact_state` (now, without feedback) of many contacts, in two reads: their
    own streams, then every phone and handle stream they name."""
    keys = list(dict.fromkeys(contacts))
    own = streams_events(store, [subjects.contact_stream(key) for key in keys])
    related = {key: sorted(related_subjects(own[subjects.contact_stream(key)]))
               for key in keys}
    linked = streams_events(store, [s for streams in related.values() for s in streams])
    states: dict[str, ContactState | None] = {}
    for key in keys:
        facts = list(own[subjects.contact_stream(key)])
        for stream in related[key]:
            facts.extend(linked[stream])
        states[key] = fold(key, facts, None) if facts else None
    return states


def contact_facts(store: Store, contact: str, *, with_feedback: bool = False) -> list[Any]:
    """The facts about one contact: its own stream, plus the streams of every phone
    number it has had (inbound SMS, STOP) and every handle tied to it; with
    ``with_feedback``, also the provider feedback on the messages sent to it (what
    suppresses a channel after a hard bounce, a complaint or an unsubscribe)."""
    own = stream_events(store, subjects.contact_stream(contact))
    facts = list(own)
    for stream in sorted(related_subjects(own)):
        facts.extend(stream_events(store, stream))
    if with_feedback and own:
        facts.extend(message_feedback(store, contact))
    return facts


def message_feedback(store: Store, contact: str) -> list[ChannelFeedback]:
    """The feedback that can stop a channel (hard bounce, complaint, unsubscribe) on the
    contact's messages, each with the channel its message went on. Only those kinds are
    read (the database filters them), then each one's message stream."""
    found = []
    for recorded in read_log(store, only=SUPPRESSING_FEEDBACK):
        feedback = recorded.event
        if not feedback.message:
            continue
        events = stream_events(store, subjects.message_stream(feedback.message))
        scheduled = next((e for e in events if isinstance(e, je.MessageScheduled)), None)
        channel = lifecycle.fold(events).channel
        if scheduled is not None and scheduled.contact == contact and channel:
            found.append(ChannelFeedback(feedback, channel))
    return found


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


def contact_state(store: Store, contact: str, as_of: datetime | None, *,
                  with_feedback: bool = False) -> ContactState | None:
    facts = contact_facts(store, contact, with_feedback=with_feedback)
    if not facts:
        return None
    return fold(contact, facts, as_of)
