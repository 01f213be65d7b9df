"""Sending what the policy chose: render, hand to the channel, record what happened.

This is the only place that calls channel adapters. It runs after the decisions are
committed (an outbox: a chosen message is sent at least once), gives every adapter the
message id as idempotency key, and records ``MessageSent`` or ``MessageFailed``. A
transient failure records nothing, so the message is tried again on the next run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
    by_channel: dict[str, int] = field(default_factory=dict)


class SimulatedClock:
    """The moment the adapters stamp on what they write: the decision's moment."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        assert self.now is not None
        return self.now


def dispatch(store: Store, messages: Iterable[str], channels: Mapping[str, Any],
             renderer: TemplateRenderer, settings: DispatchSettings,
             *, recorded_at: datetime, clock: SimulatedClock | None = None) -> DispatchReport:
    report = DispatchReport()
    outcomes: list[Any] = []
    queue = []
    for message in messages:
        stream = subjects.message_stream(message)
        events = stream_events(store, stream)
        if any(isinstance(e, je.MessageSent | je.MessageFailed) for e in events):
            continue
        chosen = [e for e in events if isinstance(e, je.ChannelChosen)][-1]
        queue.append((datetime.fromisoformat(chosen.at), message, stream, events, chosen))
    queue.sort(key=lambda item: (item[0], item[1]))  # in the order they were decided
    for moment, message, stream, events, chosen in queue:
        scheduled = next(e for e in events if isinstance(e, je.MessageScheduled))
        if clock is not None:
            clock.now = moment
        try:
            outbound = _outbound(store, scheduled, chosen.channel, renderer, settings)
            result = channels[chosen.channel].send(outbound)
        except TransientFailure:
            report.retry_later += 1
            continue
        except ChannelConfigurationError:
            raise
        except (PermanentRejection, TemplateError) as error:
            outcomes.append(NewFact(stream, je.MessageFailed, {
                "message": message, "channel": chosen.channel,
                "reason": f"{type(error).__name__}: {error}", "at": moment.isoformat()}))
            report.failed += 1
            continue
        outcomes.append(NewFact(stream, je.MessageSent, {
            "message": message, "channel": chosen.channel, "provider_id": result.provider_id,
            "at": moment.isoformat()}))
        report.sent += 1
        report.by_channel[chosen.channel] = report.by_channel.get(chosen.channel, 0) + 1
        if len(outcomes) >= APPEND_BATCH:
            _record(store, outcomes, recorded_at)
            outcomes = []
    _record(store, outcomes, recorded_at)
    return report


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
