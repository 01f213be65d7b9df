"""What a message is made of: its template rendered for one channel with the context
every message gets (the recipient as the store knows them, the brand, the message itself
with its one-click unsubscribe link), then put in the shape a channel sends.

The dispatcher composes every message it hands to a channel here, and ``preview`` composes
here what a contact would get, so a preview can never drift from a real send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.channels.message import InReplyTo, OutboundMessage
from orchestrator.domain.events import ERASED
from orchestrator.rendering import RenderedMessage, TemplateRenderer

__all__ = ["Composition", "DispatchSettings", "compose", "contact_context",
           "recipient_address"]


@dataclass(frozen=True)
class DispatchSettings:
    """What every outbound message carries besides its template (from the settings)."""

    public_url: str
    postal_address: str
    brand_name: str
    sms_help_text: str = ""
    unsubscribe_token: Callable[[str], str] | None = None

    def unsubscribe_url(self, message: str) -> str:
        token = self.unsubscribe_token(message) if self.unsubscribe_token else message
        return f"{self.public_url.rstrip('/')}/unsubscribe/{token}"

    @property
    def brand(self) -> dict[str, str]:
        return {"name": self.brand_name, "postal_address": self.postal_address}


@dataclass(frozen=True)
class Composition:
    """One message rendered for one channel, before it has a recipient address."""

    message_id: str
    channel: str
    template: str
    rendered: RenderedMessage
    unsubscribe_url: str | None
    sender_postal_address: str | None

    def outbound(self, *, to_address: Any, contact_key: str | None,
                 metadata: Mapping[str, Any],
                 in_reply_to: InReplyTo | None = None) -> OutboundMessage:
        return OutboundMessage(
            message_id=self.message_id, channel=self.channel,  # type: ignore[arg-type]
            contact_key=contact_key, to_address=to_address, subject=self.rendered.subject,
            text=self.rendered.text, html=self.rendered.html, in_reply_to=in_reply_to,
            unsubscribe_url=self.unsubscribe_url,
            sender_postal_address=self.sender_postal_address,
            metadata={**metadata, "template_digest": self.rendered.template_digest})


def compose(renderer: TemplateRenderer, settings: DispatchSettings, *, template: str,
            channel: str, message_id: str, contact: Mapping[str, Any] | None) -> Composition:
    """Template ``template`` rendered for ``channel``. A public channel gets no contact
    data whatever ``contact`` holds; email gets its unsubscribe link and the sender's
    postal address. Raises a :class:`~orchestrator.rendering.TemplateError` as a real
    send would fail on it."""
    if channel == "social":
        rendered = renderer.render(template, channel, {
            "brand": settings.brand, "message": {"id": message_id}})
        return Composition(message_id, channel, template, rendered, None, None)
    unsubscribe = settings.unsubscribe_url(message_id) if channel == "email" else None
    rendered = renderer.render(template, channel, {
        "contact": dict(contact or {}), "brand": settings.brand,
        "message": {"id": message_id, "unsubscribe_url": unsubscribe}})
    return Composition(message_id, channel, template, rendered, unsubscribe,
                       settings.postal_address if channel == "email" else None)


def contact_context(state: Any) -> dict[str, Any]:
    """The ``contact`` a template sees: what is readable of the contact's state (erased
    fields are left out, so a template's ``default`` takes over)."""
    if state is None:
        return {}
    attributes = state.attributes if isinstance(state.attributes, dict) else {}
    readable = {name: value for name, value in (
        ("email", state.email), ("phone", state.phone), ("address", state.address))
        if value not in (None, ERASED)}
    return {"first_name": attributes.get("first_name"), "locale": state.locale,
            "attributes": attributes, **readable}


def recipient_address(channel: str, contact: Mapping[str, Any]) -> Any:
    """Where a private message to this contact goes on ``channel``."""
    if channel == "mail":
        # An empty mapping, not None, when there is no address: the channel then says
        # which of its fields are missing.
        to = dict(contact.get("address") or {})
        if contact.get("first_name"):
            to["name"] = contact["first_name"]
        return to
    return {"email": contact.get("email"), "sms": contact.get("phone")}.get(channel)
