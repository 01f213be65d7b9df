"""The channel policy's memory for deciding again about one contact's message (failover
in a worker, a reviewer's approval): that contact's marketing sends, read from its own
messages' streams, found through the messages read model's index on the contact. Its
size and cost follow the contact's messages, not the length of the log (which a memory
folded from every decision in the store would read whole)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from orchestrator.campaigns.runtime.decisions import REMEMBERED, PolicyMemory
from orchestrator.domain import events as ev
from orchestrator.domain import subjects
from orchestrator.domain.vocabulary import MARKETING_INTENTS
from orchestrator.projections import tables as t
from orchestrator.store import Store
from orchestrator.store.reader import streams_events, touchpoint_event


def contact_policy_memory(store: Store, contact: str, own_events: Iterable[Any] = (),
                          trigger: str | None = None) -> PolicyMemory:
    """What the policy remembers for ``contact``: the decisions on its marketing messages
    (the caps count them), ``own_events``, the message's own stream (its release by a
    reviewer, whatever its intent), and the mention ``trigger`` names, if it is one (a
    reply is judged by the mention it answers)."""
    query = select(t.messages.c.message).where(
        t.messages.c.contact == contact, t.messages.c.intent.in_(MARKETING_INTENTS))
    with store.engine.connect() as conn:
        messages = [row.message for row in conn.execute(query)]
    memory = PolicyMemory()
    streams = streams_events(store, [subjects.message_stream(m) for m in messages])
    for events in [*streams.values(), list(own_events)]:
        for event in events:
            if isinstance(event, REMEMBERED):
                memory.remember(event)
    mention = touchpoint_event(store, trigger) if trigger else None
    if mention is not None and isinstance(mention.event, ev.SocialMentionReceived):
        memory.remember(mention.event)
    return memory
