"""Everything one decision is about, bundled so each rule is a one-argument function."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from orchestrator.domain.policy.config import PolicyConfig
from orchestrator.domain.policy.decision import Decision, Primitive
from orchestrator.domain.policy.facts import (
    ChannelCapabilities,
    ContactFacts,
    MentionFacts,
    SendRequest,
)
from orchestrator.domain.policy.vocabulary import (
    MARKETING_INTENTS,
    PUBLIC_INTENTS,
    Purpose,
    Status,
)

Facts = Mapping[str, Primitive]


@dataclass(frozen=True)
class Situation:
    request: SendRequest
    contact: ContactFacts | None
    mention: MentionFacts | None
    capabilities: ChannelCapabilities
    config: PolicyConfig
    now: datetime

    @property
    def is_public(self) -> bool:
        return self.request.intent in PUBLIC_INTENTS

    @property
    def is_marketing(self) -> bool:
        return self.request.intent in MARKETING_INTENTS

    @property
    def purpose(self) -> str:
        """The consent purpose a private send needs."""
        return Purpose.MARKETING if self.is_marketing else Purpose.TRANSACTIONAL

    def base_facts(self) -> dict[str, Primitive]:
        """The facts every decision records: what was asked, about whom."""
        facts: dict[str, Primitive] = {
            "intent": self.request.intent,
            "audience": self.request.audience,
            "reply_to_mention": self.request.is_reply_to_mention,
            "carries_contact_data": self.request.carries_contact_data,
            "decided_at": self.now.isoformat(),
            "contact_id": None,
        }
        if self.contact is not None:
            facts |= {
                "contact_id": self.contact.contact_id,
                "contact_kind": self.contact.kind,
                "stage": self.contact.stage,
                "verified_identity": self.contact.has_verified_identity,
            }
        if self.mention is not None:
            facts |= {
                "mention_network": self.mention.network,
                "mention_stance": self.mention.stance,
                "mention_author_kind": self.mention.author_kind,
            }
        return facts

    def decision(self, *, status: str, rule: str, reason: str, channel: str | None = None,
                 facts: Facts | None = None, not_before: datetime | None = None) -> Decision:
        return Decision(status=status, channel=channel, rule=rule, reason=reason,
                        facts=self.base_facts() | dict(facts or {}), not_before=not_before)

    def suppressed(self, rule: str, reason: str, facts: Facts | None = None) -> Decision:
        return self.decision(status=Status.SUPPRESSED, rule=rule, reason=reason, facts=facts)


def describe_duration(duration: timedelta) -> str:
    """'24 h', '7 days', '90 min': how reasons speak of cap windows and waits."""
    if duration % timedelta(days=1) == timedelta(0) and duration >= timedelta(days=2):
        return f"{duration // timedelta(days=1)} days"
    if duration % timedelta(hours=1) == timedelta(0):
        return f"{duration // timedelta(hours=1)} h"
    return f"{duration // timedelta(minutes=1)} min"
