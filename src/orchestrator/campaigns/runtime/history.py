"""What the engine knows of contacts as its clock passes their facts: each contact's
state, who each touchpoint is about, and what an expression may read of a contact."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from orchestrator.campaigns.language.durations import parse_duration
from orchestrator.campaigns.runtime.decisions import PolicyMemory
from orchestrator.campaigns.runtime.packed import PackedSections
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


Unpack = Callable[[bytes], Any]


class ContactStates:
    """Each contact's state by key. A state restored from a snapshot stays packed (bytes)
    until it is first used, so a restart reads only the contacts it needs."""

    def __init__(self, packed: dict[str, bytes] | None = None, unpack: Unpack | None = None):
        self._states: dict[str, ContactState] = {}
        self._packed = packed or {}
        self._unpack = unpack

    def get(self, key: str, default: ContactState | None = None) -> ContactState | None:
        state = self._states.get(key)
        if state is None and key in self._packed:
            state = self._states[key] = self._unpack(self._packed.pop(key))  # type: ignore[misc]
        return state if state is not None else default

    def __getitem__(self, key: str) -> ContactState:
        state = self.get(key)
        if state is None:
            raise KeyError(key)
        return state

    def __contains__(self, key: object) -> bool:
        return key in self._states or key in self._packed

    def __len__(self) -> int:
        return len(self._states) + len(self._packed)

    def setdefault(self, key: str, state: ContactState) -> ContactState:
        found = self.get(key)
        if found is None:
            self._states[key] = found = state
        return found

    def items(self) -> Iterator[tuple[str, ContactState]]:
        for key in list(self._packed):
            self.get(key)
        return iter(list(self._states.items()))

    def packed(self, pack: Callable[[ContactState], bytes]) -> dict[str, bytes]:
        """Every state as bytes: those never unpacked as they were, the others packed."""
        return {**self._packed, **{key: pack(state) for key, state in self._states.items()}}


class ContactHistory(PackedSections):
    """Contacts' facts as the clock passes them, and who each touchpoint is about.

    The owners of handles and phone numbers and the latest STOP/START of each number are
    sections a snapshot restores packed, unpacked on first use (``restore``)."""

    SECTIONS = ("handle_owner", "phone_owners", "phone_opt_outs")

    def __init__(self, thresholds: StageThresholds):
        self.thresholds = thresholds
        self.contacts = ContactStates()
        self.handle_owner: dict[UUID, str] = {}
        self.phone_owners: dict[UUID, set[str]] = defaultdict(set)
        self.phone_opt_outs: dict[UUID, ev.InboundSmsReceived] = {}  # latest STOP/START

    def restore(self, contacts: dict[str, bytes], sections: dict[str, bytes],
                unpack: Unpack, unpack_contact: Unpack | None = None) -> None:
        self.contacts = ContactStates(contacts, unpack_contact or unpack)
        self.restore_packed(sections, unpack)

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
        contact, channel = memory.addressee(event.message) or (None, None)
        state = self.contacts.get(contact) if contact else None
        if state is not None and channel is not None:
            apply(state, ChannelFeedback(event, channel))

    def about(self, event: Any, memory: PolicyMemory) -> list[str | None]:
        if isinstance(event, ev.SocialMentionReceived):
            owner = self.handle_owner.get(event.originator_id)
            return [owner if owner else f"handle:{event.originator_id.hex[:16]}"]
        if isinstance(event, ev.InboundSmsReceived):
            return sorted(self.phone_owners.get(event.originator_id, ()))
        if isinstance(event, ev.MessageFeedbackRecorded):
            addressee = memory.addressee(event.message)
            return [addressee[0]] if addressee is not None else []
        return [getattr(event, "contact", None)]

    def view(self, contact: str | None, now: datetime) -> ContactView:
        return ContactView(self.contacts.get(contact) if contact else None, now,
                           self.thresholds)

    def known_contacts(self) -> list[str]:
        return [key for key, state in self.contacts.items() if state.known and not state.erased]
