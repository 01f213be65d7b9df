"""Builders for policy tests: a valid default for every fact, overridden by name.

The defaults describe the ordinary case, a light-buying customer in London with
no consents, at a Tuesday late morning, so each test spells out only what it is about.
"""

from __future__ import annotations

from datetime import UTC, datetime

from orchestrator.domain.policy import (
    ChannelCapabilities,
    ConsentFact,
    ContactFacts,
    Decision,
    MentionFacts,
    PolicyConfig,
    SendRequest,
    SuppressionFact,
    decide,
)

# Tuesday 12 May 2026, 11:00 in London (BST): inside the SMS window.
NOW = datetime(2026, 5, 12, 10, 0, tzinfo=UTC)
# Consents and suppressions date from before every instant the tests decide at.
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)
DEFAULT_CONFIG = PolicyConfig()
EVERY_CHANNEL = ChannelCapabilities.all_channels()


def consent(*, granted: bool = True, at: datetime | None = None, ref: str = "ev-consent",
            source: str = "web-form") -> ConsentFact:
    return ConsentFact(granted=granted, at=at or LONG_AGO, source=source,
                       event_ref=ref)


def granted(*channel_purposes: str, at: datetime | None = None) -> dict:
    """Consents granted for ``"email:marketing"``-style keys."""
    return {
        tuple(key.split(":")): consent(at=at, ref=f"ev-{key.replace(':', '-')}")
        for key in channel_purposes
    }


def suppression(reason: str, *, at: datetime | None = None, ref: str = "ev-suppression"
                ) -> SuppressionFact:
    return SuppressionFact(reason=reason, at=at or LONG_AGO, event_ref=ref)


def contact(**overrides) -> ContactFacts:
    fields = {
        "contact_id": "C1",
        "kind": "customer",
        "stage": "light_buyer",
        "timezone": "Europe/London",
    }
    return ContactFacts(**(fields | overrides))


def request(intent: str = "relationship", **overrides) -> SendRequest:
    fields = {
        "message_id": "M1",
        "intent": intent,
        "journey_id": "second-purchase",
        "journey_version": 1,
        "step_id": "thanks",
    }
    return SendRequest(**(fields | overrides))


def reply(intent: str = "showcase", **overrides) -> SendRequest:
    return request(intent, is_reply_to_mention=True, journey_id="answer-mentions",
                   step_id="reply", **overrides)


def mention(stance: str | None = "neutral", author_kind: str | None = None) -> MentionFacts:
    return MentionFacts(network="mastodon", stance=stance, author_kind=author_kind)


def run(request: SendRequest, contact: ContactFacts | None = None,
        mention: MentionFacts | None = None, *,
        capabilities: ChannelCapabilities = EVERY_CHANNEL,
        config: PolicyConfig = DEFAULT_CONFIG, now: datetime = NOW) -> Decision:
    return decide(request, contact, mention, capabilities, config, now)
