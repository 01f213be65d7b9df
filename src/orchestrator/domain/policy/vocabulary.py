"""The policy's words: channels, intents, audiences, purposes, statuses and rule ids.

These strings end up in event payloads, JSON output and auditors' reports, so they are
plain ``str`` constants (a payload holds primitives only), grouped in namespaces so call
sites read as ``Status.SUPPRESSED`` or ``Rule.SUPPRESSION_WINS``. Word lists shared with
the rest of the domain (contact kinds, stages, stances) live in
``orchestrator.domain.vocabulary`` and are re-used here, not copied.
"""

from __future__ import annotations

from typing import Final

from orchestrator.domain import vocabulary as words
from orchestrator.domain.vocabulary import (
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    CONTACT_KINDS,
    STAGES,
    STANCES,
)

__all__ = [
    "ALL_CHANNELS",
    "AUDIENCES",
    "CONSENT_CHANNELS",
    "CONSENT_PURPOSES",
    "CONTACT_KINDS",
    "INTENTS",
    "MARKETING_INTENTS",
    "POLICY_STATUSES",
    "PRIVATE_CHANNELS",
    "PUBLIC_INTENTS",
    "RULES",
    "SERVICE_INTENTS",
    "STAGES",
    "STANCES",
    "SUPPRESSION_REASONS",
    "Audience",
    "Channel",
    "Intent",
    "Purpose",
    "Rule",
    "Status",
    "SuppressionReason",
]


class Channel:
    EMAIL: Final = "email"
    SMS: Final = "sms"
    MAIL: Final = "mail"
    SOCIAL: Final = "social"


PRIVATE_CHANNELS: Final = words.PRIVATE_CHANNELS
ALL_CHANNELS: Final = words.CHANNELS


class Intent:
    REACH: Final = "reach"
    ACTIVATION: Final = "activation"
    SHOWCASE: Final = "showcase"
    RELATIONSHIP: Final = "relationship"
    SERVICE: Final = "service"
    TRANSACTIONAL: Final = "transactional"


PUBLIC_INTENTS: Final = frozenset(words.PUBLIC_INTENTS)
SERVICE_INTENTS: Final = frozenset(words.SERVICE_INTENTS)
MARKETING_INTENTS: Final = frozenset(words.MARKETING_INTENTS)
INTENTS: Final = frozenset(words.INTENTS)


class Audience:
    PERSONAL: Final = "personal"
    SEGMENT: Final = "segment"
    PUBLIC: Final = "public"


AUDIENCES: Final = frozenset(words.AUDIENCES)


class Purpose:
    MARKETING: Final = "marketing"
    TRANSACTIONAL: Final = "transactional"


class Status:
    """The message statuses (SPEC contract) the policy can produce. ``sent``,
    ``delivered`` and the rest are recorded later by the dispatcher and webhooks."""

    SCHEDULED: Final = "scheduled"
    DEFERRED: Final = "deferred"
    SUPPRESSED: Final = "suppressed"
    HELD_FOR_REVIEW: Final = "held_for_review"


POLICY_STATUSES: Final = frozenset(
    {Status.SCHEDULED, Status.DEFERRED, Status.SUPPRESSED, Status.HELD_FOR_REVIEW}
)


class SuppressionReason:
    UNSUBSCRIBED: Final = "unsubscribed"
    HARD_BOUNCE: Final = "hard_bounce"
    COMPLAINT: Final = "complaint"
    SMS_STOP: Final = "sms_stop"
    ERASED: Final = "erased"


SUPPRESSION_REASONS: Final = frozenset(
    {
        SuppressionReason.UNSUBSCRIBED,
        SuppressionReason.HARD_BOUNCE,
        SuppressionReason.COMPLAINT,
        SuppressionReason.SMS_STOP,
        SuppressionReason.ERASED,
    }
)


class Rule:
    """Stable ids of the rules a decision can name. They are recorded in events and
    grouped on in reports: renaming one is a contract change."""

    SUPPRESSION_ERASED: Final = "suppression.erased"
    SUPPRESSION_WINS: Final = "suppression.wins"
    SEGMENT_NEVER_PUBLIC: Final = "public.segment_never_public"
    PUBLIC_NO_PERSONAL_DATA: Final = "public.no_personal_data"
    PUBLIC_CHANNEL_CHOSEN: Final = "public.channel_chosen"
    MENTION_HELD_FOR_REVIEW: Final = "mention.held_for_review"
    STAKEHOLDER_NO_MARKETING: Final = "stakeholder.no_marketing"
    REQUIRES_KNOWN_CUSTOMER: Final = "relationship.requires_known_customer"
    REQUIRES_MARKETING_CONSENT: Final = "relationship.requires_marketing_consent"
    REQUIRES_TRANSACTIONAL_CONSENT: Final = "transactional.requires_transactional_consent"
    REQUIRES_RECIPIENT: Final = "private.requires_recipient"
    PRIVATE_CHANNEL_CHOSEN: Final = "private.channel_chosen"
    CHANNEL_UNAVAILABLE: Final = "channel.unavailable"
    SMS_QUIET_HOURS: Final = "sms.quiet_hours"
    SMS_TIMEZONE_UNKNOWN: Final = "sms.timezone_unknown"
    # Frequency caps are configurable; each names its rule ``cap.<name>``. These two are
    # the defaults (see ``PolicyConfig``).
    CAP_DAILY: Final = "cap.daily"
    CAP_WEEKLY: Final = "cap.weekly"
    CAP_PREFIX: Final = "cap."


RULES: Final = frozenset(
    value
    for name, value in vars(Rule).items()
    if name.isupper() and name != "CAP_PREFIX"
)
