"""Choosing the private channel: email, SMS or mail, in the configured preference order.

Each channel is judged on its own, in this order of checks:

1. suppression on that channel (SPEC rule 6: wins over everything),
2. consent for the purpose (marketing for relationship, transactional for service and
   transactional messages; one never stands in for the other),
3. a template for the channel and the channel being live,
4. frequency caps, marketing only (SPEC rule 5),
5. for SMS, the recipient's local window (SPEC rule 5).

A channel is *sendable* (all clear now), *waiting* (clear at a known later instant) or
*blocked* (not for this message). The first sendable channel in preference order is
scheduled, so a quiet or capped favourite does not hold up a message another consented
channel can carry now. If none is sendable, the message is deferred on the first waiting
channel: it waits for the recipient's preferred channel rather than the quickest one.
If all are blocked, the message is suppressed; it is never moved to a public channel.
The rule named then is ``suppression.wins`` if any channel is suppressed, otherwise the
rule that stopped the channel which got furthest through the checks; the reason lists
every channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from zoneinfo import ZoneInfo

from orchestrator.domain.policy.caps import CapUsage, cap_usage
from orchestrator.domain.policy.decision import Decision, Primitive
from orchestrator.domain.policy.errors import PolicyInputError
from orchestrator.domain.policy.facts import ConsentFact, ContactFacts
from orchestrator.domain.policy.local_time import (
    earliest_moment_inside_all,
    load_zone,
    local_wall_time,
)
from orchestrator.domain.policy.situation import Situation, describe_duration
from orchestrator.domain.policy.vocabulary import Channel, Intent, Purpose, Rule, Status


class Check(IntEnum):
    """The checks in the order they run; a blocked channel remembers how far it got."""

    SUPPRESSION = 1
    CONSENT = 2
    CAPABILITY = 3
    FREQUENCY_CAP = 4
    SMS_WINDOW = 5
    ALL_CLEAR = 6


@dataclass(frozen=True)
class ChannelVerdict:
    channel: str
    reached: Check
    rule: str | None  # what blocks or delays the channel; None when it is sendable now
    clause: str  # a reason fragment: why it is blocked, delayed, or allowed
    facts: dict[str, Primitive] = field(default_factory=dict)
    not_before: datetime | None = None

    @property
    def sendable(self) -> bool:
        return self.rule is None

    @property
    def waiting(self) -> bool:
        return self.not_before is not None

    @property
    def blocked(self) -> bool:
        return not self.sendable and not self.waiting


def choose_private_channel(s: Situation) -> Decision:
    if s.contact is None:
        # ``private_message_needs_recipient`` and the known-customer rule run first.
        raise PolicyInputError("a private channel is chosen only for a contact")
    order = s.config.private_channel_order
    shared: dict[str, Primitive] = {"channel_order": ",".join(order), "purpose": s.purpose}
    verdicts: list[ChannelVerdict] = []
    for channel in order:
        verdict = judge_channel(s, s.contact, channel)
        verdicts.append(verdict)
        if verdict.sendable:
            break
    facts = shared | {k: v for verdict in verdicts for k, v in verdict.facts.items()}
    chosen = verdicts[-1] if verdicts[-1].sendable else None
    if chosen is not None:
        return _scheduled(s, chosen, verdicts[:-1], facts)
    waiting = next((v for v in verdicts if v.waiting), None)
    if waiting is not None:
        return _deferred(s, waiting, verdicts, facts)
    return _suppressed(s, verdicts, facts)


def judge_channel(s: Situation, contact: ContactFacts, channel: str) -> ChannelVerdict:
    facts: dict[str, Primitive] = {}

    def verdict(reached: Check, rule: str | None, outcome: str, clause: str,
                not_before: datetime | None = None) -> ChannelVerdict:
        facts[f"{channel}.outcome"] = outcome
        return ChannelVerdict(channel, reached, rule, clause, facts, not_before)

    suppression = contact.suppression_on(channel)
    if suppression is not None:
        facts |= {
            f"{channel}.suppression": suppression.reason,
            f"{channel}.suppression_at": suppression.at.isoformat(),
            f"{channel}.suppression_event_ref": suppression.event_ref,
        }
        return verdict(
            Check.SUPPRESSION, Rule.SUPPRESSION_WINS, "suppressed",
            f"suppressed ({suppression.reason} at {suppression.at.isoformat()}, "
            f"event {suppression.event_ref})",
        )

    if s.request.answers_request_on == channel:
        facts[f"{channel}.answers_request"] = True
        return _after_consent(s, contact, channel, facts, verdict,
                              f"it answers the contact's own request on {channel}")
    consent = contact.consent_for(channel, s.purpose)
    facts[f"{channel}.consent_granted"] = consent.granted if consent else None
    if consent is not None:
        facts |= {
            f"{channel}.consent_at": consent.at.isoformat(),
            f"{channel}.consent_source": consent.source,
            f"{channel}.consent_event_ref": consent.event_ref,
        }
    if consent is None or not consent.in_effect_at(s.now):
        return verdict(Check.CONSENT, _consent_rule(s), "no_consent",
                       _missing_consent_clause(s.purpose, consent))
    consent_clause = (f"{s.purpose} consent granted at {consent.at.isoformat()}, "
                      f"source {consent.source}, event {consent.event_ref}")
    return _after_consent(s, contact, channel, facts, verdict, consent_clause)


def _after_consent(s: Situation, contact: ContactFacts, channel: str,
                   facts: dict[str, Primitive], verdict: Callable[..., ChannelVerdict],
                   consent_clause: str) -> ChannelVerdict:
    """The checks after the basis for sending is settled: capability, caps, quiet hours."""
    missing = s.capabilities.missing_for(channel)
    if missing is not None:
        return verdict(Check.CAPABILITY, Rule.CHANNEL_UNAVAILABLE, "unavailable", missing)

    hold: Hold | None = None
    for step in (frequency_caps_step, sms_window_step):
        outcome = step(s, contact, channel, hold, facts)
        if isinstance(outcome, Blocked):
            return verdict(outcome.reached, outcome.rule, outcome.outcome, outcome.clause)
        hold = outcome
    if hold is not None:
        facts[f"{channel}.not_before"] = hold.until.isoformat()
        return verdict(Check.ALL_CLEAR, hold.rule, "waiting",
                       f"{hold.clause}; {consent_clause}", not_before=hold.until)
    return verdict(Check.ALL_CLEAR, None, "sendable", consent_clause)


@dataclass(frozen=True)
class Blocked:
    """A timing step found the channel unusable for this message."""

    reached: Check
    rule: str
    outcome: str
    clause: str


@dataclass(frozen=True)
class Hold:
    """The channel is clear from ``until`` on, because of ``rule``."""

    until: datetime
    rule: str
    clause: str


def frequency_caps_step(s: Situation, contact: ContactFacts, channel: str, hold: Hold | None,
                        facts: dict[str, Primitive]) -> Blocked | Hold | None:
    """SPEC rule 5: caps count marketing only; service and transactional are never held."""
    if not s.is_marketing:
        return hold
    sends = contact.marketing_sends_on(channel)
    usages = [cap_usage(cap, sends, s.now) for cap in s.config.frequency_caps]
    for usage in usages:
        facts |= {
            f"{channel}.{usage.cap.name}_count": usage.count,
            f"{channel}.{usage.cap.name}_limit": usage.cap.limit,
        }
    reached = [u for u in usages if u.reached]
    too_long = next((u for u in reached if u.wait_exceeds_max_deferral(s.now)), None)
    if too_long is not None:
        return Blocked(
            Check.FREQUENCY_CAP, too_long.cap.rule, "capped",
            f"{_cap_clause(channel, too_long)}, more than "
            f"{describe_duration(too_long.cap.max_deferral)} away",
        )
    if not reached:
        return hold
    binding = max(reached, key=lambda u: u.frees_at)  # max() keeps the first on ties
    return Hold(binding.frees_at, binding.cap.rule, _cap_clause(channel, binding))


def sms_window_step(s: Situation, contact: ContactFacts, channel: str, hold: Hold | None,
                    facts: dict[str, Primitive]) -> Blocked | Hold | None:
    """SPEC rule 5: SMS only inside the recipient's local window, from the moment the
    channel is otherwise clear (now, or when a cap slot frees)."""
    if channel != Channel.SMS:
        return hold
    zones, zone_facts = _sms_zones(s, contact)
    facts |= zone_facts
    if not zones:
        return Blocked(
            Check.SMS_WINDOW, Rule.SMS_TIMEZONE_UNKNOWN, "timezone_unknown",
            "the recipient's time zone is unknown and no fallback zones are configured, so "
            "no moment is known to be inside the SMS window",
        )
    start, end = s.config.sms_window_start, s.config.sms_window_end
    window = f"{start:%H:%M}-{end:%H:%M}"
    facts["sms.window"] = window
    clear_from = hold.until if hold else s.now
    opening = earliest_moment_inside_all(clear_from, zones, start, end)
    if opening is None:
        return Blocked(
            Check.SMS_WINDOW, Rule.SMS_TIMEZONE_UNKNOWN, "timezone_unknown",
            f"the fallback zones {', '.join(z.key for z in zones)} share no moment inside "
            f"the SMS window {window}",
        )
    if opening == clear_from:
        return hold
    local_then = ", ".join(f"{local_wall_time(clear_from, z):%H:%M} in {z.key}" for z in zones)
    local_opening = ", ".join(f"{local_wall_time(opening, z):%Y-%m-%d %H:%M} in {z.key}"
                              for z in zones)
    outside = f"outside the SMS window {window}; the window opens at {local_opening}"
    clause = (f"it is {local_then}, {outside}" if hold is None
              else f"{hold.clause}, which is {local_then}, {outside}")
    return Hold(opening, Rule.SMS_QUIET_HOURS, clause)


def _consent_rule(s: Situation) -> str:
    if s.request.intent == Intent.RELATIONSHIP:
        return Rule.REQUIRES_MARKETING_CONSENT
    return Rule.REQUIRES_TRANSACTIONAL_CONSENT


def _missing_consent_clause(purpose: str, consent: ConsentFact | None) -> str:
    if consent is None:
        return f"no {purpose} consent on record"
    if not consent.granted:
        return (f"{purpose} consent withdrawn at {consent.at.isoformat()} "
                f"(event {consent.event_ref})")
    return (f"{purpose} consent granted only at {consent.at.isoformat()}, after this decision "
            f"(event {consent.event_ref})")


def _cap_clause(channel: str, usage: CapUsage) -> str:
    return (f"{usage.count} marketing {channel} message(s) in the last "
            f"{describe_duration(usage.cap.window)} reach the {usage.cap.name} cap of "
            f"{usage.cap.limit}; the next slot frees at {usage.frees_at.isoformat()}")


def _sms_zones(s: Situation, contact: ContactFacts
               ) -> tuple[tuple[ZoneInfo, ...], dict[str, Primitive]]:
    """The zones whose window an SMS must respect: the contact's own, or else every
    configured fallback zone (see ``PolicyConfig.sms_fallback_timezones``)."""
    own = load_zone(contact.timezone)
    if own is not None:
        zones = (own,)
        source = "contact"
    else:
        # PolicyConfig validated these names, so every one loads.
        zones = tuple(filter(None, map(load_zone, s.config.sms_fallback_timezones)))
        source = "fallback" if zones else "none"
    facts: dict[str, Primitive] = {
        "sms.contact_timezone": contact.timezone,
        "sms.timezone_source": source,
        "sms.zones": ",".join(z.key for z in zones),
        "sms.local_time": ", ".join(
            f"{s.now.astimezone(z).isoformat(timespec='minutes')} {z.key}" for z in zones
        ),
    }
    return zones, facts


def _others(verdicts: list[ChannelVerdict]) -> str:
    return "; ".join(f"{v.channel}: {v.clause}" for v in verdicts)


def _relationship_basis(s: Situation) -> str:
    if s.request.intent != Intent.RELATIONSHIP:
        return ""
    contact = s.contact
    basis = (f"kind {contact.kind}" if contact.kind in s.config.known_customer_kinds
             else "verified identity link")
    return f"Known customer {contact.contact_id} ({basis}). "


def _scheduled(s: Situation, chosen: ChannelVerdict, passed_over: list[ChannelVerdict],
               facts: dict[str, Primitive]) -> Decision:
    order = ", ".join(s.config.private_channel_order)
    reason = (f"{_relationship_basis(s)}Scheduled on {chosen.channel}, the first channel in "
              f"the order ({order}) that can carry it now: {chosen.clause}.")
    if passed_over:
        reason += f" Passed over: {_others(passed_over)}."
    return s.decision(status=Status.SCHEDULED, channel=chosen.channel,
                      rule=Rule.PRIVATE_CHANNEL_CHOSEN, reason=reason, facts=facts)


def _deferred(s: Situation, waiting: ChannelVerdict, verdicts: list[ChannelVerdict],
              facts: dict[str, Primitive]) -> Decision:
    reason = (f"{_relationship_basis(s)}Deferred on {waiting.channel} until "
              f"{waiting.not_before.isoformat()}: {waiting.clause}.")
    others = [v for v in verdicts if v is not waiting]
    if others:
        reason += f" No other channel can carry it now: {_others(others)}."
    return s.decision(status=Status.DEFERRED, channel=waiting.channel, rule=waiting.rule,
                      reason=reason, facts=facts, not_before=waiting.not_before)


def _suppressed(s: Situation, verdicts: list[ChannelVerdict],
                facts: dict[str, Primitive]) -> Decision:
    if any(v.rule == Rule.SUPPRESSION_WINS for v in verdicts):
        rule = Rule.SUPPRESSION_WINS
    else:
        rule = max(verdicts, key=lambda v: v.reached).rule  # max() keeps the first on ties
    needs = "marketing" if s.purpose == Purpose.MARKETING else "transactional"
    reason = (f"No private channel may carry this {s.request.intent} message (it needs "
              f"{needs} consent), so it is suppressed and never moved to a public channel. "
              f"{_others(verdicts)}.")
    return s.suppressed(rule, reason, facts)
