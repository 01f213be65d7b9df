"""The message a channel sends, and what the channel says back.

An :class:`OutboundMessage` is checked when it is built: anything that no channel could
ever send (an unknown channel, an address of the wrong shape, contact data on a public
post) raises :class:`~orchestrator.channels.errors.MessageInvalid` at once, so adapters
only deal with what their own capabilities allow.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from orchestrator.channels.errors import MessageInvalid

__all__ = [
    "CHANNELS",
    "POSTAL_ADDRESS_FIELDS",
    "InReplyTo",
    "OutboundMessage",
    "SendResult",
]

CHANNELS = ("email", "sms", "mail", "social")

# Message ids name outbox files (OUTBOX/email/ID.eml): no slash, no leading dot, no
# whitespace, so an id can never point outside the outbox or hide a file.
MESSAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,199}")

# Deliberately plain: the provider has the last word on deliverability; this only keeps
# out what could never be an address or could smuggle a header (spaces, CR/LF, <>).
EMAIL_ADDRESS = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]+")
E164 = re.compile(r"\+[1-9][0-9]{1,14}")

POSTAL_ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postcode", "country")
REQUIRED_POSTAL_FIELDS = ("line1", "city", "postcode", "country")

# Namespace for idempotency keys derived from message ids (uuid5 over a natural key).
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f0d3f3e-1c55-5b0e-9a53-0b7f7c1a6e21")


@dataclass(frozen=True)
class InReplyTo:
    """The public status a social post answers: ``network`` (e.g. mastodon) and the
    network's ``status_id``. It points at a post, never at a person."""

    network: str
    status_id: str

    def __post_init__(self) -> None:
        if not self.network or not self.status_id:
            raise MessageInvalid("in_reply_to needs both a network and a status id")

    def as_dict(self) -> dict[str, str]:
        return {"network": self.network, "status_id": self.status_id}


@dataclass(frozen=True, kw_only=True)
class OutboundMessage:
    """One rendered message for one channel.

    ``to_address`` is an email address (email), an E.164 phone number (sms), a postal
    address mapping with ``line1``, ``city``, ``postcode``, ``country`` and optionally
    ``name``, ``line2``, ``region`` (mail), or None (social: a public post has no
    recipient). ``idempotency_key`` defaults to a uuid5 of the channel and message id, so
    the same message always carries the same key. ``metadata`` is for the orchestrator's
    own bookkeeping (journey, step, intent); adapters never send it.
    """

    message_id: str
    channel: Literal["email", "sms", "mail", "social"]
    contact_key: str | None = None
    to_address: str | Mapping[str, str] | None = field(default=None, hash=False)
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    in_reply_to: InReplyTo | None = None
    idempotency_key: str = ""
    unsubscribe_url: str | None = None
    sender_postal_address: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise MessageInvalid(
                f"unknown channel {self.channel!r}: expected one of {', '.join(CHANNELS)}")
        if not isinstance(self.message_id, str) or not MESSAGE_ID.fullmatch(self.message_id):
            raise MessageInvalid(
                f"message id {self.message_id!r} is not usable: expected 1-200 letters, "
                "digits or . _ : @ + = -, starting with a letter or digit")
        _check_recipient(self)
        if self.in_reply_to is not None and self.channel != "social":
            raise MessageInvalid("only a public social post can be a reply to a status")
        if not self.idempotency_key:
            key = uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{self.channel}:{self.message_id}")
            object.__setattr__(self, "idempotency_key", str(key))
        # Read-only copies: a frozen message must not change behind the dispatcher's back.
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        if isinstance(self.to_address, Mapping):
            object.__setattr__(self, "to_address", MappingProxyType(dict(self.to_address)))

    @property
    def is_public(self) -> bool:
        return self.channel == "social"

    def postal_address(self) -> Mapping[str, str]:
        """The recipient's postal address (mail only)."""
        if not isinstance(self.to_address, Mapping):
            raise MessageInvalid(f"message {self.message_id} has no postal address")
        return self.to_address


@dataclass(frozen=True)
class SendResult:
    """A channel accepted the message. ``provider_id`` is the provider's id for it (what
    its webhooks will quote); ``repeated`` is True when the channel recognised the
    message as already sent and did not send it again."""

    provider_id: str
    status: Literal["sent"] = "sent"
    repeated: bool = False


def _check_recipient(message: OutboundMessage) -> None:
    to = message.to_address
    if message.channel == "social":
        # The thesis in one check: a public post never carries anyone's personal data.
        if message.contact_key is not None or to is not None:
            raise MessageInvalid(
                "a public social post carries no contact data: contact_key and to_address "
                "must be None")
    elif message.channel == "email":
        if not isinstance(to, str) or not EMAIL_ADDRESS.fullmatch(to):
            raise MessageInvalid(f"email needs an email address to send to, got {to!r}")
    elif message.channel == "sms":
        if not isinstance(to, str) or not E164.fullmatch(to):
            raise MessageInvalid(
                f"sms needs a phone number in E.164 form such as +447700900123, got {to!r}")
    else:
        _check_postal_address(to)


def _check_postal_address(to: object) -> None:
    if not isinstance(to, Mapping):
        raise MessageInvalid(
            f"mail needs a postal address mapping ({', '.join(REQUIRED_POSTAL_FIELDS)}), "
            f"got {to!r}")
    unknown = sorted(set(to) - set(POSTAL_ADDRESS_FIELDS))
    if unknown:
        raise MessageInvalid(
            f"postal address has unknown field(s) {', '.join(map(str, unknown))}: expected "
            f"{', '.join(POSTAL_ADDRESS_FIELDS)}")
    missing = [name for name in REQUIRED_POSTAL_FIELDS if not to.get(name)]
    if missing:
        raise MessageInvalid(f"postal address lacks {', '.join(missing)}")
    for name, value in to.items():
        # One field, one printed line: a line break would shift the mail-merge columns.
        if value is not None and (not isinstance(value, str) or "".join(value.splitlines())
                                  != value):
            raise MessageInvalid(f"postal address field {name} must be one line of text")
