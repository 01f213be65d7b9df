"""The review queue: messages the policy held for a person (replies to hostile, press or
competitor mentions).

Approving records who released the message and sends it back through the channel policy
at that moment, with the hold answered by the reviewer: a public reply stays public (or
is stopped by the public rules), a private one gets a private channel by the rules or is
suppressed. Nothing private is ever moved to a public channel. Dismissing records who
stopped it. Both are facts on the message's stream."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from orchestrator.campaigns.runtime.decisions import (
    PolicyDesk,
    PolicyMemory,
    decision_event_fields,
    replies_to_mention,
)
from orchestrator.campaigns.runtime.versions import published_versions
from orchestrator.domain import journey_events as je
from orchestrator.domain import subjects
from orchestrator.domain.new_fact import NewFact
from orchestrator.errors import UsageError
from orchestrator.store import Store
from orchestrator.store.reader import contact_state, stream_events

MemoryFor = Callable[[str, list[Any]], PolicyMemory]  # contact, the message's events


def act(store: Store, message: str, *, approve: bool, actor: str, note: str | None,
        now: datetime, desk: PolicyDesk, memory_for: MemoryFor) -> str:
    """``memory_for``: the policy's memory for the contact's decisions (the caps)."""
    stream = subjects.message_stream(message)
    events = stream_events(store, stream)
    decisions = [e for e in events if isinstance(e, je.MessageDecided)]
    if not decisions:
        raise UsageError(f"no message {message!r} waiting for a decision in this store")
    held = decisions[-1]
    if not isinstance(held, je.ReviewRequested):
        raise UsageError(f"message {message!r} is not held for review (it is {held.status})")
    at = now.isoformat()
    verdict = {"message": message, "actor": actor, "note": note, "at": at}
    if approve:
        facts = [NewFact(stream, je.ReviewApproved, verdict),
                 _decided_again(store, events, message, actor, now, desk, memory_for)]
    else:
        facts = [NewFact(stream, je.ReviewDismissed, verdict),
                 NewFact(stream, je.MessageSuppressed, {
                     "message": message, "status": "suppressed", "channel": None,
                     "rule": "review.dismissed",
                     "reason": f"Held by {held.rule}; dismissed by {actor}"
                               + (f": {note}" if note else ""),
                     "facts": {"held_rule": held.rule, "reviewer": actor}, "not_before": None,
                     "at": at})]
    with store.write() as unit:
        unit.append_facts(facts, recorded_at=now)
    return facts[-1].fields["status"]


def _decided_again(store: Store, events: list[Any], message: str, actor: str,
                   now: datetime, desk: PolicyDesk, memory_for: MemoryFor) -> NewFact:
    """The policy's decision on a released message, as of the release."""
    scheduled = next(e for e in events if isinstance(e, je.MessageScheduled))
    versions = {(v.id, v.version): v for v in published_versions(store)}
    version = versions.get((scheduled.journey, scheduled.version))
    contact = scheduled.contact
    memory = memory_for(contact, events) if contact else PolicyMemory()
    memory.released[message] = actor
    state = (contact_state(store, contact, now, with_feedback=True)
             if contact and not contact.startswith("handle:") else None)
    decision = desk.decide(scheduled, state, memory, replies_to_mention(version), now)
    return NewFact(subjects.message_stream(message), je.DECISION_CLASSES[decision.status],
                   decision_event_fields(scheduled, decision, now, released_by=actor))
