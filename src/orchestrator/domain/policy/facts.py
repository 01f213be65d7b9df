"""What the policy is told: the facts about a contact, a mention, a send request and the
channels that could carry it, as of the moment of the decision.

They are projections of the event history, built by the caller; the policy never reads
the store or the clock. Every field is a primitive (or a read-only mapping or tuple of
primitives) so a decision can be replayed from the facts recorded with it.

Deliberately absent: any influence or reach score of the person. Such scores can be
gamed, and treating "influential" people better is privileged treatment by design
(seed 003); the policy cannot use what it is never given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from orchestrator.domain.policy.errors import PolicyInputError
from orchestrator.domain.policy.vocabulary import (
    ALL_CHANNELS,
    AUDIENCES,
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    CONTACT_KINDS,
    INTENTS,
    PRIVATE_CHANNELS,
    STAGES,
    STANCES,
    SUPPRESSION_REASONS,
    Channel,
)


def require_aware(value: datetime, what: str) -> None:
    """Reject naive datetimes: "08:00" means nothing without knowing where."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise PolicyInputError(f"{what} must be a timezone-aware datetime, got {value!r}")


def _require_one_of(value: object, allowed: frozenset[str] | tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise PolicyInputError(f"{what} must be one of {sorted(allowed)}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class ConsentFact:
    """The latest consent event for one (channel, purpose) of a contact."""

    granted: bool
    at: datetime
    source: str
    event_ref: str

    def __post_init__(self) -> None:
        require_aware(self.at, "ConsentFact.at")

    def in_effect_at(self, now: datetime) -> bool:
        # A grant recorded after the decision time is not a fact yet (late clocks, as-of
        # replays); erring towards "no consent" is the only safe direction.
        return self.granted and self.at <= now


@dataclass(frozen=True, kw_only=True)
class SuppressionFact:
    """Why nothing may be sent to a contact on one channel any more."""

    reason: str
    at: datetime
    event_ref: str

    def __post_init__(self) -> None:
        _require_one_of(self.reason, SUPPRESSION_REASONS, "SuppressionFact.reason")
        require_aware(self.at, "SuppressionFact.at")


@dataclass(frozen=True, kw_only=True)
class ContactFacts:
    """One contact as of the decision time.

    ``consents`` maps ``(channel, purpose)`` to the latest consent event for it;
    ``suppressions`` maps a channel (``social`` included: "stop replying to me") to its
    suppression. ``recent_marketing_sends`` lists ``(channel, at)`` of the marketing
    messages already sent to the contact; only those count against frequency caps.
    Mappings are copied into read-only views, so the facts cannot change after a
    decision was taken on them.
    """

    contact_id: str
    kind: str
    stage: str
    has_verified_identity: bool = False
    consents: Mapping[tuple[str, str], ConsentFact] = field(default_factory=dict)
    suppressions: Mapping[str, SuppressionFact] = field(default_factory=dict)
    timezone: str | None = None
    erased: bool = False
    recent_marketing_sends: tuple[tuple[str, datetime], ...] = ()

    def __post_init__(self) -> None:
        _require_one_of(self.kind, CONTACT_KINDS, "ContactFacts.kind")
        _require_one_of(self.stage, STAGES, "ContactFacts.stage")
        for channel, purpose in self.consents:
            _require_one_of(channel, CONSENT_CHANNELS, "consent channel")
            _require_one_of(purpose, CONSENT_PURPOSES, "consent purpose")
        for channel in self.suppressions:
            _require_one_of(channel, ALL_CHANNELS, "suppression channel")
        for channel, at in self.recent_marketing_sends:
            _require_one_of(channel, ALL_CHANNELS, "recent send channel")
            require_aware(at, "recent send time")
        object.__setattr__(self, "consents", MappingProxyType(dict(self.consents)))
        object.__setattr__(self, "suppressions", MappingProxyType(dict(self.suppressions)))
        object.__setattr__(self, "recent_marketing_sends", tuple(self.recent_marketing_sends))

    def consent_for(self, channel: str, purpose: str) -> ConsentFact | None:
        return self.consents.get((channel, purpose))

    def suppression_on(self, channel: str) -> SuppressionFact | None:
        return self.suppressions.get(channel)

    def marketing_sends_on(self, channel: str) -> tuple[datetime, ...]:
        return tuple(at for sent_on, at in self.recent_marketing_sends if sent_on == channel)


@dataclass(frozen=True, kw_only=True)
class MentionFacts:
    """The social mention a reply answers. ``author_kind`` is what the producer tagged
    the author as (press, competitor, ...), which may be known without any contact."""

    network: str
    stance: str | None = None
    author_kind: str | None = None

    def __post_init__(self) -> None:
        if self.stance is not None:
            _require_one_of(self.stance, STANCES, "MentionFacts.stance")


@dataclass(frozen=True, kw_only=True)
class SendRequest:
    """One message a journey step wants to send. ``carries_contact_data`` says whether
    its rendering uses the contact's personal data (name, address, purchases...).
    ``released_by`` names the reviewer who released a held reply: the hold rule has been
    answered by a person, every other rule still applies. ``answers_request_on`` names
    the channel on which the person asked for this very message (an SMS ``HELP``): the
    request is its own basis, so no consent is needed on that channel; suppression,
    quiet hours and everything else still apply."""

    message_id: str
    intent: str
    audience: str = "personal"
    journey_id: str
    journey_version: int
    step_id: str
    is_reply_to_mention: bool = False
    carries_contact_data: bool = False
    released_by: str | None = None
    answers_request_on: str | None = None

    def __post_init__(self) -> None:
        _require_one_of(self.intent, INTENTS, "SendRequest.intent")
        _require_one_of(self.audience, AUDIENCES, "SendRequest.audience")


@dataclass(frozen=True, kw_only=True)
class ChannelCapabilities:
    """Which channels could physically carry this message: ``with_template`` have a
    template file for it, ``live`` are configured (with ``--channels live``) or dry-run.
    A channel can carry the message only if it is in both, and, when ``addressable`` is
    given, only if the recipient has an address on it (an email address, a phone number,
    a postal address): consent to a channel nobody can reach us on is not a channel."""

    with_template: frozenset[str]
    live: frozenset[str]
    addressable: frozenset[str] | None = None

    def __post_init__(self) -> None:
        for channel in (*self.with_template, *self.live, *(self.addressable or ())):
            _require_one_of(channel, ALL_CHANNELS, "capability channel")
        object.__setattr__(self, "with_template", frozenset(self.with_template))
        object.__setattr__(self, "live", frozenset(self.live))
        if self.addressable is not None:
            object.__setattr__(self, "addressable", frozenset(self.addressable))

    @classmethod
    def of(cls, *channels: str) -> ChannelCapabilities:
        """Channels that both have a template and are live."""
        return cls(with_template=frozenset(channels), live=frozenset(channels))

    @classmethod
    def all_channels(cls) -> ChannelCapabilities:
        return cls.of(*PRIVATE_CHANNELS, Channel.SOCIAL)

    def missing_for(self, channel: str) -> str | None:
        """Why ``channel`` cannot carry the message, or ``None`` if it can."""
        if channel not in self.with_template:
            return f"this message has no {channel} template"
        if channel not in self.live:
            return f"the {channel} channel is not live"
        if (self.addressable is not None and channel != Channel.SOCIAL
                and channel not in self.addressable):
            return f"no {channel} address on record for the contact"
        return None
