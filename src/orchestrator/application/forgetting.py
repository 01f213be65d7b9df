"""``orchestrator forget C``: erasure by crypto-shredding.

The keys of every subject that holds the contact's personal data (the contact's own
stream, each phone number it has had, each social handle tied to it, each of its
messages' streams, which seal what was sent) are destroyed, and a
``ContactErased`` fact records who asked, when, and on what request. History is not
rewritten: counts, decisions and the chain survive; the personal fields read as erased.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from orchestrator.application.stores import store_of
from orchestrator.application.tail import finish_write
from orchestrator.campaigns.runtime import snapshots
from orchestrator.channels.dry_run.erasure import forget_messages
from orchestrator.domain import events as ev
from orchestrator.domain import journey_events as je
from orchestrator.domain import subjects
from orchestrator.domain.new_fact import NewFact
from orchestrator.errors import UsageError
from orchestrator.store import Store
from orchestrator.store.reader import read_log, related_subjects, stream_events


@dataclass(frozen=True)
class Erasure:
    contact: str
    subjects: list[UUID]
    keys_destroyed: int
    position: int
    outbox_removed: int = 0  # dry-run files and lines removed with --outbox


def forget(store: Store, contact: str, *, now: datetime, requested_by: str,
           request_reference: str | None) -> Erasure:
    stream = subjects.contact_stream(contact)
    own = stream_events(store, stream)
    if not own:
        raise UsageError(f"no history for contact {contact!r}")
    # The contact's messages too: their rendered content (``MessageRendered``) is sealed
    # with the key of the message's stream. A scan of the log, but erasure is rare.
    messages = {subjects.message_stream(recorded.event.message)
                for recorded in read_log(store, only=(je.MessageScheduled,))
                if recorded.event.contact == contact}
    ordered = sorted({stream, *related_subjects(own), *messages})
    with store.write() as unit:
        destroyed = unit.tables.delete_keys(ordered)
        [position] = unit.append_facts([NewFact(stream, ev.ContactErased, {
            "contact": contact, "erased_at": now.isoformat(), "requested_by": requested_by,
            "request_reference": request_reference, "subjects": [s.hex for s in ordered]})],
            recorded_at=now)
    store.ledger.keys.forget(ordered)
    # The engine's saved state held the contact's data as it was: destroyed with its key.
    snapshots.discard(store)
    store.backend.after_erasure(store.recorder)
    return Erasure(contact, ordered, destroyed, position)


def forget_contact(app: Any, contact: str, *, requested_by: str | None = None,
                   reference: str | None = None, outbox: str | None = None) -> Erasure:
    """Use case: erase a contact's personal data, then the write tail; with ``outbox``,
    also the dry-run files of the contact's messages there."""
    with store_of(app) as store:
        erasure = forget(store, contact, now=app.now(),
                         requested_by=requested_by or app.settings.actor,
                         request_reference=reference)
        finish_write(app, store)
        if outbox is not None:
            messages = [recorded.event.message for recorded in
                        read_log(store, only=(je.MessageScheduled,))
                        if recorded.event.contact == contact]
            erasure = replace(erasure, outbox_removed=forget_messages(outbox, messages))
    return erasure
