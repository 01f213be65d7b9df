"""Failover: when a provider refuses a private message for good on the channel the policy
chose, the policy is asked again without that channel (and without any channel that
refused it before). It may choose the next consented private channel, or nothing; it is
never asked about a public one, because the live set it sees holds none that the first
decision did not already rule out for a private intent (SPEC policy rule 2)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from orchestrator.campaigns.runtime.decisions import (
    PolicyDesk,
    PolicyMemory,
    decision_event_fields,
)
from orchestrator.domain import journey_events as je
from orchestrator.domain import subjects
from orchestrator.domain.new_fact import NewFact
from orchestrator.domain.vocabulary import PRIVATE_CHANNELS
from orchestrator.store import Store
from orchestrator.store.reader import contact_state

FAILOVER_RULE_PREFIX = "failover"


def rejected_channels(events: Iterable[Any]) -> frozenset[str]:
    """The channels that already refused this message for good."""
    return frozenset(e.channel for e in events if isinstance(e, je.ChannelRejected))


def failover_decision(store: Store, scheduled: je.MessageScheduled, rejected: frozenset[str],
                      desk: PolicyDesk, now: datetime, memory: PolicyMemory
                      ) -> NewFact | None:
    """The policy's decision for ``scheduled`` without the ``rejected`` channels, or None
    when it is not a private message (a public post has no other channel to try) or no
    other private channel is left to ask about."""
    if scheduled.contact is None or scheduled.contact.startswith("handle:"):
        return None
    remaining = (desk.live & frozenset(PRIVATE_CHANNELS)) - rejected
    if not remaining:
        return None
    state = contact_state(store, scheduled.contact, now, with_feedback=True)
    narrowed = PolicyDesk(desk.templates, desk.thresholds, desk.config, live=remaining,
                          renderer=desk.renderer, pinned=desk.pinned)
    decision = narrowed.decide(scheduled, state, memory, False, now)
    if decision.status != "scheduled":
        return None  # nowhere else to go: the message fails with the provider's reason
    fields = decision_event_fields(scheduled, decision, now)
    fields["rule"] = f"{FAILOVER_RULE_PREFIX}:{fields['rule']}"
    fields["reason"] = (f"{', '.join(sorted(rejected))} refused the message; "
                        f"{fields['reason']}")
    fields["facts"] = {**fields["facts"], "rejected_channels": sorted(rejected)}
    return NewFact(subjects.message_stream(scheduled.message), je.ChannelChosen, fields)
