"""In-memory twins of the channels, for tests and for trying journeys without files.

A twin applies the same capability checks as the real adapters of its kind and is
idempotent by message id in the same way, so a test written against a twin holds for the
real thing. It keeps two records: ``sent``, the full messages in the order they were
first accepted (to assert on the dispatcher's end state), and ``deliveries``, only what
the recipient or the public would see (to assert nothing private leaked). Failures can
be queued with :meth:`MemoryChannel.fail_next` to exercise retries.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from orchestrator.channels.capabilities import (
    ChannelCapabilities,
    EmailCapabilities,
    MailCapabilities,
    SmsCapabilities,
    SocialCapabilities,
)
from orchestrator.channels.errors import ChannelError
from orchestrator.channels.message import InReplyTo, OutboundMessage, SendResult

__all__ = ["Delivery", "MemoryChannel", "memory_channels"]


@dataclass(frozen=True)
class Delivery:
    """What left through the channel: the parts a recipient (or, on social, anyone)
    sees. The message's metadata and contact key never get here."""

    message_id: str
    to: str | Mapping[str, str] | None
    subject: str | None
    text: str | None
    html: str | None
    in_reply_to: InReplyTo | None


class MemoryChannel(ChannelCapabilities):
    """The in-memory twin of one channel kind; build one with :meth:`of`."""

    provider: ClassVar[str] = "memory"

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []
        self.deliveries: dict[str, Delivery] = {}
        self._failures: deque[ChannelError] = deque()

    @staticmethod
    def of(channel: str) -> MemoryChannel:
        """A fresh twin of ``channel`` (email, sms, mail or social)."""
        try:
            return _TWINS[channel]()
        except KeyError:
            raise ValueError(f"no channel {channel!r}: expected one of "
                             f"{', '.join(_TWINS)}") from None

    def fail_next(self, *errors: ChannelError) -> None:
        """Raise ``errors``, one per send, on the next sends (after the checks, as a
        provider would), before anything is recorded."""
        self._failures.extend(errors)

    def send(self, message: OutboundMessage) -> SendResult:
        self.check_message(message)
        if self._failures:
            raise self._failures.popleft()
        provider_id = f"memory:{self.name}:{message.message_id}"
        if message.message_id in self.deliveries:
            return SendResult(provider_id=provider_id, repeated=True)
        self.sent.append(message)
        self.deliveries[message.message_id] = Delivery(
            message_id=message.message_id, to=message.to_address, subject=message.subject,
            text=message.text, html=message.html, in_reply_to=message.in_reply_to)
        return SendResult(provider_id=provider_id)


class MemoryEmailChannel(MemoryChannel, EmailCapabilities):
    pass


class MemorySmsChannel(MemoryChannel, SmsCapabilities):
    pass


class MemoryMailChannel(MemoryChannel, MailCapabilities):
    pass


class MemorySocialChannel(MemoryChannel, SocialCapabilities):
    pass


_TWINS: dict[str, type[MemoryChannel]] = {
    twin.name: twin
    for twin in (MemoryEmailChannel, MemorySmsChannel, MemoryMailChannel, MemorySocialChannel)
}


def memory_channels() -> dict[str, MemoryChannel]:
    """A fresh twin per channel, keyed by channel name (like ``dry_run_channels``)."""
    return {name: twin() for name, twin in _TWINS.items()}
