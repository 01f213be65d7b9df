"""What the engine knows of contacts as its clock passes their facts: each contact's
state, who each touchpoint is about, and what an expression may read of a contact."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from orchestrator.campaigns.language.durations import parse_duration
from orchestrator.campaigns.runtime.decisions import PolicyMemory
from orchestrator.domain import events as ev
from orchestrator.domain import subjects
from orchestrator.domain.contact import ContactState, apply
from orchestrator.domain.events import ERASED
from orchestrator.domain.stages import StageThresholds
from orchestrator.domain.suppressions import ChannelFeedback


class ContactView:
    """What an expression may read about a contact, as of a moment (no personal data
    beyond the contact's own attributes)."""

    def __init__(self, state: ContactState | None, now: datetime, thresholds: StageThresholds):
        self._state = state
        self._now = now
        self._thresholds = thresholds

    @property
    def stage(self) -> str:
        return self._state.stage(self._now, self._thresholds) if self._state else "unknown"

    @property
    def kind(self) -> str:
        return self._state.kind if self._state and self._state.known else "unknown"

    @property
    def attributes(self) -> dict[str, Any]:
        attributes = self._state.attributes if self._state else None
        return attributes if isinstance(attributes, dict) else {}

    @property
    def locale(self) -> str | None:
        return self._state.locale if self._state else None

    @property
    def timezone(self) -> str | None:
        return self._state.timezone if self._state else None

    @property
    def purchases_total(self) -> int:
        return len(self._state.purchases) if self._state else 0

    @property
    def last_purchase_days(self) -> int | None:
        past = [at for at, _, _ in self._state.purchases if at <= self._now] if self._state else []
        return (self._now - max(past)).days if past else None

    def purchases_within(self, duration: str) -> int:
        if not self._state:
            return 0
        return self._state.purchases_within(parse_duration(duration), self._now)


class ContactHistory:
    """Contacts' facts as the clock passes them, and who each touchpoint is about."""

    def __init__(self, thresholds: StageThresholds):
        self.thresholds = thresholds
        self.contacts: dict[str, ContactState] = {}
        self.handle_owner: dict[UUID, str] = {}
        self.phone_owners: dict[UUID, set[str]] = defaultdict(set)
        self.phone_opt_outs: dict[UUID, ev.InboundSmsReceived] = {}  # the latest STOP/START

    def observe(self, event: Any) -> None:
        contact = getattr(event, "contact", None)
        if isinstance(event, ev.InboundSmsReceived):
            if event.keyword in ("opt_out", "opt_in"):
                self.phone_opt_outs[event.originator_id] = event
            for owner in self.phone_owners.get(event.originator_id, ()):
                apply(self.contacts[owner], event)
            return
        if contact is None or not isinstance(event, ev.LedgerEvent):
            return
        state = self.contacts.setdefault(contact, ContactState(contact=contact))
        apply(state, event)
        if isinstance(event, ev.IdentityLinked) and event.handle != ERASED:
            self.handle_owner[subjects.handle_stream(event.network, event.handle)] = contact
        if isinstance(event, ev.ContactDetailsRecorded) and event.phone not in (None, ERASED):
            phone = subjects.phone_stream(event.phone)
            self.phone_owners[phone].add(contact)
            # A STOP sent before we knew whose number it is still stops it.
            if phone in self.phone_opt_outs:
                apply(state, self.phone_opt_outs[phone])

    def observe_feedback(self, event: ev.MessageFeedbackRecorded, memory: PolicyMemory) -> None:
        """Feedback joins the facts of the contact the message was for, with the channel
        it went out on (a hard bounce, complaint or unsubscribe suppresses that channel)."""
        scheduled = memory.scheduled.get(event.message or "")
        channel = memory.channel_of.get(event.message or "")
        state = self.contacts.get(scheduled.contact) if scheduled and scheduled.contact else None
        if state is not None and channel is not None:
            apply(state, ChannelFeedback(event, channel))

    def about(self, event: Any, message_contact: dict[str, str | None]) -> list[str | None]:
        if isinstance(event, ev.SocialMentionReceived):
            owner = self.handle_owner.get(event.originator_id)
            return [owner if owner else f"handle:{event.originator_id.hex[:16]}"]
        if isinstance(event, ev.InboundSmsReceived):
            return sorted(self.phone_owners.get(event.originator_id, ()))
        if isinstance(event, ev.MessageFeedbackRecorded):
            if event.message in message_contact:
                return [message_contact[event.message]]
            return []
        return [getattr(event, "contact", None)]

    def view(self, contact: str | None, now: datetime) -> ContactView:
        return ContactView(self.contacts.get(contact) if contact else None, now,
                           self.thresholds)

    def known_contacts(self) -> list[str]:
        return [key for key, state in self.contacts.items() if state.known and not state.erased]
