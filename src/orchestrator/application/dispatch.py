"""Sending what the policy chose: render, hand to the channel, record what happened.

This is the only place that calls channel adapters. It runs after the decisions are
committed (an outbox: a chosen message is sent at least once), gives every adapter the
message id as idempotency key, and records ``MessageSent`` or ``MessageFailed``. A
transient failure records nothing, so the message is tried again on the next run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from orchestrator.channels.errors import (
    ChannelConfigurationError,
    PermanentRejection,
    TransientFailure,
)
from orchestrator.channels.message import InReplyTo, OutboundMessage
from orchestrator.domain import events as ev
from orchestrator.domain import journey_events as je
from orchestrator.domain import subjects
from orchestrator.domain.builtin_replies import SMS_HELP_TEMPLATE
from orchestrator.domain.events import ERASED
from orchestrator.domain.new_fact import NewFact
from orchestrator.rendering import TemplateError, TemplateRenderer
from orchestrator.store import Store
from orchestrator.store.reader import contact_state, stream_events, touchpoint_event

APPEND_BATCH = 500


@dataclass(frozen=True)
class DispatchSettings:
    """What every outbound message carries besides its template (from the settings)."""

    public_url: str
    postal_address: str
    brand_name: str
    sms_help_text: str = ""

    def unsubscribe_url(self, message: str) -> str:
        return f"{self.public_url.rstrip('/')}/unsubscribe/{message}"


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0
    retry_later: int = 0
    claimed_elsewhere: int = 0  # another dispatcher had claimed them first
    by_channel: dict[str, int] = field(default_factory=dict)


class SimulatedClock:
    """The moment the adapters stamp on what they write: the decision's moment."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        assert self.now is not None
        return self.now


CLAIM_BATCH = 200
CLAIM_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class _Due:
    moment: datetime
    message: str
    stream: Any
    events: list[Any]
    chosen: je.ChannelChosen


def dispatch(store: Store, messages: Iterable[str], channels: Mapping[str, Any],
             renderer: TemplateRenderer, settings: DispatchSettings,
             *, recorded_at: datetime, clock: SimulatedClock | None = None) -> DispatchReport:
    """Send each chosen message once. A message is claimed (a fact, in a transaction that
    checks no other process claimed it first) before it is handed to its channel, so two
    dispatchers at once never both send it; the loser skips it."""
    report = DispatchReport()
    claimer = uuid4().hex[:16]
    queue = []
    for message in messages:
        stream = subjects.message_stream(message)
        events = stream_events(store, stream)
        if _taken(events, recorded_at):
            continue
        chosen = [e for e in events if isinstance(e, je.ChannelChosen)][-1]
        queue.append(_Due(datetime.fromisoformat(chosen.at), message, stream, events, chosen))
    queue.sort(key=lambda due: (due.moment, due.message))  # in the order they were decided
    for start in range(0, len(queue), CLAIM_BATCH):
        batch = queue[start:start + CLAIM_BATCH]
        won = _claim(store, batch, claimer, recorded_at)
        report.claimed_elsewhere += len(batch) - len(won)
        outcomes: list[NewFact] = []
        try:
            for due in won:
                outcomes.append(_send(store, due, channels, renderer, settings, clock,
                                      claimer, report))
        except ChannelConfigurationError:
            sent = {fact.fields["message"] for fact in outcomes}
            outcomes.extend(_released(due, claimer, "channel not configured")
                            for due in won if due.message not in sent)
            raise
        finally:
            _record(store, outcomes, recorded_at)
    return report


def _send(store: Store, due: _Due, channels: Mapping[str, Any], renderer: TemplateRenderer,
          settings: DispatchSettings, clock: SimulatedClock | None, claimer: str,
          report: DispatchReport) -> NewFact:
    scheduled = next(e for e in due.events if isinstance(e, je.MessageScheduled))
    channel = due.chosen.channel
    if clock is not None:
        clock.now = due.moment
    try:
        outbound = _outbound(store, scheduled, channel, renderer, settings)
        result = channels[channel].send(outbound)
    except TransientFailure as error:
        report.retry_later += 1
        return _released(due, claimer, f"{type(error).__name__}: {error}")
    except (PermanentRejection, TemplateError) as error:
        report.failed += 1
        return NewFact(due.stream, je.MessageFailed, {
            "message": due.message, "channel": channel,
            "reason": f"{type(error).__name__}: {error}", "at": due.moment.isoformat()})
    report.sent += 1
    report.by_channel[channel] = report.by_channel.get(channel, 0) + 1
    return NewFact(due.stream, je.MessageSent, {
        "message": due.message, "channel": channel, "provider_id": result.provider_id,
        "at": due.moment.isoformat()})


def _released(due: _Due, claimer: str, reason: str) -> NewFact:
    return NewFact(due.stream, je.MessageClaimReleased, {
        "message": due.message, "claimed_by": claimer, "reason": reason,
        "at": due.moment.isoformat()})


def _taken(events: list[Any], now: datetime) -> bool:
    """Whether the message is done, or claimed by a dispatcher whose lease still runs."""
    claimed: je.MessageClaimed | None = None
    for event in events:
        if isinstance(event, je.MessageSent | je.MessageFailed):
            return True
        if isinstance(event, je.MessageClaimed):
            claimed = event
        elif isinstance(event, je.MessageClaimReleased):
            claimed = None
    return claimed is not None and datetime.fromisoformat(claimed.lease_until) > now


def _claim(store: Store, batch: list[_Due], claimer: str, now: datetime) -> list[_Due]:
    """Claim what no one else has, in one transaction under the writer lock: a stream
    that moved since it was read is read again and left alone if it is taken now."""
    won = []
    with store.write() as unit:
        heads = unit.tables.stream_versions([due.stream for due in batch])
        for due in batch:
            if heads.get(due.stream, 0) != due.events[-1].originator_version and _taken(
                    stream_events(store, due.stream), now):
                continue
            won.append(due)
        unit.append_facts([NewFact(due.stream, je.MessageClaimed, {
            "message": due.message, "claimed_by": claimer,
            "lease_until": (now + CLAIM_LEASE).isoformat(), "at": due.moment.isoformat()})
            for due in won], recorded_at=now)
    return won


def _record(store: Store, outcomes: list[NewFact], recorded_at: datetime) -> None:
    if outcomes:
        with store.write() as unit:
            unit.append_facts(outcomes, recorded_at=recorded_at)


def _outbound(store: Store, scheduled: je.MessageScheduled, channel: str,
              renderer: TemplateRenderer, settings: DispatchSettings) -> OutboundMessage:
    brand = {"name": settings.brand_name, "postal_address": settings.postal_address}
    if channel == "social":
        rendered = renderer.render(scheduled.template, channel, {
            "brand": brand, "message": {"id": scheduled.message}})
        return OutboundMessage(message_id=scheduled.message, channel="social",
                               text=rendered.text, in_reply_to=_replying_to(store, scheduled),
                               metadata=_metadata(scheduled))
    state = contact_state(store, scheduled.contact, None) if scheduled.contact else None
    contact = _contact_context(state)
    if scheduled.template == SMS_HELP_TEMPLATE:
        return OutboundMessage(
            message_id=scheduled.message, channel="sms", contact_key=scheduled.contact,
            to_address=_asking_phone(store, scheduled) or contact.get("phone"),
            text=settings.sms_help_text, metadata=_metadata(scheduled))
    unsubscribe = settings.unsubscribe_url(scheduled.message) if channel == "email" else None
    rendered = renderer.render(scheduled.template, channel, {
        "contact": contact, "brand": brand,
        "message": {"id": scheduled.message, "unsubscribe_url": unsubscribe}})
    to: Any = {"email": contact.get("email"), "sms": contact.get("phone")}.get(channel)
    if channel == "mail":
        to = dict(contact.get("address") or {})
        if contact.get("first_name"):
            to["name"] = contact["first_name"]
    return OutboundMessage(
        message_id=scheduled.message, channel=channel, contact_key=scheduled.contact,
        to_address=to, subject=rendered.subject, text=rendered.text, html=rendered.html,
        unsubscribe_url=unsubscribe,
        sender_postal_address=settings.postal_address if channel == "email" else None,
        metadata=_metadata(scheduled))


def _replying_to(store: Store, scheduled: je.MessageScheduled) -> InReplyTo | None:
    """A public reply points at the mention's status (the producer's touchpoint id)."""
    if scheduled.trigger.startswith("cron:"):
        return None
    recorded = touchpoint_event(store, scheduled.trigger)
    mention = recorded.event if recorded else None
    if not isinstance(mention, ev.SocialMentionReceived):
        return None
    return InReplyTo(network=mention.network, status_id=mention.touchpoint_id)


def _asking_phone(store: Store, scheduled: je.MessageScheduled) -> str | None:
    """The number that sent the HELP (a contact may have more than one)."""
    recorded = touchpoint_event(store, scheduled.trigger)
    inbound = recorded.event if recorded else None
    if isinstance(inbound, ev.InboundSmsReceived) and inbound.phone not in (None, ERASED):
        return inbound.phone
    return None


def _contact_context(state: Any) -> dict[str, Any]:
    if state is None:
        return {}
    attributes = state.attributes if isinstance(state.attributes, dict) else {}
    readable = {name: value for name, value in (
        ("email", state.email), ("phone", state.phone), ("address", state.address))
        if value not in (None, ERASED)}
    return {"first_name": attributes.get("first_name"), "locale": state.locale,
            "attributes": attributes, **readable}


def _metadata(scheduled: je.MessageScheduled) -> dict[str, Any]:
    return {"journey": scheduled.journey, "version": scheduled.version,
            "step": scheduled.step, "intent": scheduled.intent}
