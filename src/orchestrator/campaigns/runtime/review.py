"""The review queue: messages the policy held for a person (replies to hostile, press or
competitor mentions). Approving records who released it and chooses the channel it was
held on; dismissing records who stopped it. Both are facts on the message's stream."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.domain import journey_events as je
from orchestrator.domain import subjects
from orchestrator.domain.new_fact import NewFact
from orchestrator.errors import UsageError
from orchestrator.store import Store
from orchestrator.store.reader import stream_events


def act(store: Store, message: str, *, approve: bool, actor: str, note: str | None,
        now: datetime) -> str:
    stream = subjects.message_stream(message)
    events = stream_events(store, stream)
    decisions = [e for e in events if isinstance(e, je.MessageDecided)]
    if not decisions:
        raise UsageError(f"no message {message!r} waiting for a decision in this store")
    held = decisions[-1]
    if not isinstance(held, je.ReviewRequested):
        raise UsageError(f"message {message!r} is not held for review (it is {held.status})")
    at = now.isoformat()
    if approve:
        outcome: list[Any] = [
            je.ReviewApproved, {"message": message, "actor": actor, "note": note, "at": at}]
        decision = (je.ChannelChosen, {
            "message": message, "status": "scheduled", "channel": held.channel or "social",
            "rule": "review.approved",
            "reason": f"Held by {held.rule}; released by {actor}" + (f": {note}" if note else ""),
            "facts": {"held_rule": held.rule, "reviewer": actor}, "not_before": None, "at": at})
    else:
        outcome = [je.ReviewDismissed, {"message": message, "actor": actor, "note": note,
                                        "at": at}]
        decision = (je.MessageSuppressed, {
            "message": message, "status": "suppressed", "channel": None,
            "rule": "review.dismissed",
            "reason": f"Held by {held.rule}; dismissed by {actor}" + (f": {note}" if note else ""),
            "facts": {"held_rule": held.rule, "reviewer": actor}, "not_before": None, "at": at})
    with store.write() as unit:
        unit.append_facts([NewFact(stream, *outcome), NewFact(stream, *decision)],
                          recorded_at=now)
    return decision[1]["status"]
