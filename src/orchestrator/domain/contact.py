"""A contact as the history says it was: a pure fold over recorded facts.

``ContactHistory.as_of(moment)`` replays the facts whose business time (``at``) is not
after ``moment``, in business-time order (ties keep recording order), so a late file with
older touchpoints still lands in the right place. Nothing here reads a clock: "now" is
always passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from orchestrator.domain import events as ev
from orchestrator.domain import suppressions
from orchestrator.domain.stages import StageThresholds, relationship_stage
from orchestrator.domain.time_range import unusable_time
from orchestrator.domain.vocabulary import PRIVATE_CHANNELS


@dataclass(frozen=True)
class Consent:
    channel: str
    purpose: str
    granted: bool
    at: str
    source: str
    evidence: str | None
    touchpoint: str


@dataclass(frozen=True)
class Suppression:
    channel: str
    reason: str
    at: str
    touchpoint: str


@dataclass(frozen=True)
class Identity:
    network: str
    handle: str
    verified_by: str
    at: str
    touchpoint: str


@dataclass
class ContactState:
    contact: str
    kind: str = "unknown"
    email: Any = None
    phone: Any = None
    address: Any = None
    timezone: str | None = None
    locale: str | None = None
    attributes: Any = None
    identities: list[Identity] = field(default_factory=list)
    consents: dict[tuple[str, str], Consent] = field(default_factory=dict)
    suppressions: dict[str, Suppression] = field(default_factory=dict)
    purchases: list[tuple[datetime, Decimal, str]] = field(default_factory=list)
    erased: bool = False
    known: bool = False  # a contact.upserted was seen

    def purchases_within(self, window: timedelta, as_of: datetime) -> int:
        start = as_of - window
        return sum(1 for at, _, _ in self.purchases if start < at <= as_of)

    def stage(self, as_of: datetime, thresholds: StageThresholds) -> str:
        return relationship_stage(
            kind=self.kind if self.known else "unknown",
            purchases_in_window=self.purchases_within(thresholds.window, as_of),
            thresholds=thresholds,
        )


def fold(contact: str, facts: Iterable[Any], as_of: datetime | None = None) -> ContactState:
    """The contact's state from its facts (events of its own stream, plus those of the
    phone numbers and handles tied to it), as of ``as_of`` (all of them when ``None``)."""
    state = ContactState(contact=contact)
    usable = [fact for fact in facts if unusable_time(fact) is None]
    for fact in sorted(usable, key=_business_order):
        at = business_time(fact)
        if as_of is not None and at is not None and at > as_of:
            continue
        apply(state, fact)
    return state


def apply(state: ContactState, fact: Any) -> None:
    if isinstance(fact, ev.ContactDetailsRecorded):
        state.known = True
        state.kind = fact.kind
        for name in ("email", "phone", "address", "timezone", "locale", "attributes"):
            value = getattr(fact, name)
            if value is not None:
                setattr(state, name, value)
    elif isinstance(fact, ev.IdentityLinked):
        state.identities = [i for i in state.identities
                            if (i.network, i.handle) != (fact.network, fact.handle)]
        state.identities.append(Identity(fact.network, fact.handle, fact.verified_by, fact.at,
                                         fact.touchpoint_id))
    elif isinstance(fact, (ev.ConsentGranted, ev.ConsentWithdrawn)):
        state.consents[(fact.channel, fact.purpose)] = Consent(
            channel=fact.channel, purpose=fact.purpose,
            granted=isinstance(fact, ev.ConsentGranted), at=fact.at, source=fact.source,
            evidence=fact.evidence, touchpoint=fact.touchpoint_id)
    elif isinstance(fact, ev.PurchaseRecorded):
        state.purchases.append((datetime.fromisoformat(fact.at), Decimal(fact.amount),
                                fact.currency))
    elif isinstance(fact, ev.InboundSmsReceived):
        if fact.keyword == "opt_out":
            state.suppressions["sms"] = Suppression("sms", suppressions.SMS_STOP, fact.at,
                                                    fact.touchpoint_id)
        elif fact.keyword == "opt_in" and state.suppressions.get("sms") and (
                state.suppressions["sms"].reason == suppressions.SMS_STOP):
            state.suppressions.pop("sms")
    elif isinstance(fact, suppressions.ChannelFeedback):
        reason = suppressions.feedback_suppression(fact.feedback)
        if reason is not None and fact.channel in PRIVATE_CHANNELS:
            state.suppressions[fact.channel] = Suppression(fact.channel, reason, fact.at,
                                                           fact.feedback.touchpoint_id)
    elif isinstance(fact, ev.ContactErased):
        state.erased = True
        for channel in PRIVATE_CHANNELS:
            state.suppressions[channel] = Suppression(channel, suppressions.ERASED,
                                                      fact.erased_at, "forget")


def business_time(fact: Any) -> datetime | None:
    at = getattr(fact, "at", None) or getattr(fact, "erased_at", None)
    return datetime.fromisoformat(at) if at else None


def _business_order(fact: Any) -> tuple[datetime, int]:
    at = business_time(fact)
    return (at or fact.timestamp, 0)
