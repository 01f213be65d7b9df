"""The facts the ledger records: explicit, past-tense event classes.

Every touchpoint a producer sends becomes exactly one of these events, appended to the
stream of the subject it is about (a contact, a social handle, a phone number, a message).
Payloads are primitives only. ``at`` is the business time given by the producer (ISO-8601
with its offset, as received); ``timestamp`` is when the ledger recorded it.

``PERSONAL_FIELDS`` names the fields that hold personal data. They are sealed with the
subject's own key when stored (see ``orchestrator.persistence.sealing``), so erasing a
person is deleting a key, never rewriting history. A stored event whose key is gone
comes back with those fields set to ``ERASED``.

Changing a payload means a new ``class_version`` plus an ``upcast_vN_vN+1`` static
method; ``tests/replay/`` holds a recorded history that must keep loading.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from eventsourcing.domain import DomainEvent

ERASED = "[erased]"


class LedgerEvent(DomainEvent):
    """Base of every recorded fact."""

    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ()


class TouchpointRecorded(LedgerEvent):
    """Base of facts that came in as touchpoints (``orchestrator ingest``)."""

    touchpoint_id: str
    at: str


# --- contacts ---------------------------------------------------------------------------


class ContactDetailsRecorded(TouchpointRecorded):
    """A ``contact.upserted`` touchpoint: the producer's current view of a contact.

    Fields the producer left out (``None``) keep their earlier values.
    """

    PERSONAL_FIELDS = ("email", "phone", "address", "attributes")

    contact: str
    kind: str
    email: str | None
    phone: str | None
    address: dict[str, Any] | None
    timezone: str | None
    locale: str | None
    attributes: dict[str, Any] | None


class IdentityLinked(TouchpointRecorded):
    """A social handle was tied to a contact, and how that was verified."""

    PERSONAL_FIELDS = ("handle",)

    contact: str
    network: str
    handle: str
    verified_by: str


class ConsentGranted(TouchpointRecorded):
    PERSONAL_FIELDS = ("evidence",)

    contact: str
    channel: str
    purpose: str
    source: str
    evidence: str | None


class ConsentWithdrawn(TouchpointRecorded):
    PERSONAL_FIELDS = ("evidence",)

    contact: str
    channel: str
    purpose: str
    source: str
    evidence: str | None


class PurchaseRecorded(TouchpointRecorded):
    """v2: ``amount`` is exact decimal text (v1 stored a JSON number, which rounds money)
    and ``sku`` was added."""

    class_version = 2

    contact: str
    amount: str
    currency: str
    sku: str | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["amount"] = str(Decimal(repr(state["amount"])))
        state.setdefault("sku", None)


# --- public social ------------------------------------------------------------------------


class SocialMentionReceived(TouchpointRecorded):
    """Someone mentioned the brand in public. Recorded on the handle's own stream: a
    handle is an ``unknown`` contact until a verified link ties it to one."""

    PERSONAL_FIELDS = ("handle", "text")

    network: str
    handle: str
    text: str
    stance: str | None
    author_kind: str | None


# --- SMS ------------------------------------------------------------------------------------


class InboundSmsReceived(TouchpointRecorded):
    """An SMS came in. ``keyword`` is the carrier-standard meaning of the body
    (``opt_out``, ``opt_in``, ``help``) or ``None``; it stays readable after erasure so
    that an opt-out keeps working for the number."""

    PERSONAL_FIELDS = ("phone", "body")

    phone: str
    body: str
    keyword: str | None


# --- message feedback ------------------------------------------------------------------------


class MessageFeedbackRecorded(TouchpointRecorded):
    """Base of provider feedback about one of our messages."""

    message: str | None
    provider_id: str | None
    reason: str | None


class MessageDelivered(MessageFeedbackRecorded):
    pass


class MessageBounced(MessageFeedbackRecorded):
    pass


class MessageOpened(MessageFeedbackRecorded):
    pass


class MessageClicked(MessageFeedbackRecorded):
    pass


class MessageComplained(MessageFeedbackRecorded):
    pass


class MessageUnsubscribed(MessageFeedbackRecorded):
    pass


# --- erasure ------------------------------------------------------------------------------------


class ContactErased(LedgerEvent):
    """``orchestrator forget``: the contact's keys were destroyed, so every personal field
    sealed with them is unreadable from now on. Who asked, and on what request."""

    contact: str
    erased_at: str
    requested_by: str
    request_reference: str | None
    subjects: list[str]  # hex ids of every stream whose key was destroyed
