"""The one interface the dispatcher knows: a channel sends one message.

Like Django's email backends, every adapter (dry-run outbox, in-memory twin, SendGrid,
SMTP, Twilio, print batch, Mastodon) is a small class behind this protocol, and one
contract test class runs against all of them.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from orchestrator.channels.message import OutboundMessage, SendResult

__all__ = ["Channel"]


@runtime_checkable
class Channel(Protocol):
    """A way to send messages of one kind.

    Capabilities are class attributes (see
    :mod:`orchestrator.channels.capabilities`): ``name`` (email, sms, mail or social),
    ``provider`` (dry-run, memory, sendgrid...), ``public``, ``has_subject`` and
    ``max_body_length``.
    """

    name: ClassVar[str]
    provider: ClassVar[str]
    public: ClassVar[bool]
    has_subject: ClassVar[bool]
    max_body_length: ClassVar[int | None]

    def send(self, message: OutboundMessage) -> SendResult:
        """Send ``message`` once, at least once: sending the same ``message_id`` again
        must not reach the recipient twice. Raises
        :class:`~orchestrator.channels.errors.PermanentRejection` (record the message as
        failed), :class:`~orchestrator.channels.errors.TransientFailure` (retry later
        with the same message) or
        :class:`~orchestrator.channels.errors.ChannelConfigurationError`."""
        ...
