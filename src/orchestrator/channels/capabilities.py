"""What each kind of channel can carry, declared once as class attributes.

Every adapter of a channel kind (dry-run, in-memory, SendGrid, SMTP...) inherits the
same capabilities and the same :meth:`ChannelCapabilities.check_message` guard, so a
message refused by one email adapter is refused by all of them, before any side effect.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from orchestrator.channels.errors import MessageInvalid
from orchestrator.channels.message import OutboundMessage

__all__ = [
    "CAPABILITIES",
    "ChannelCapabilities",
    "EmailCapabilities",
    "MailCapabilities",
    "SmsCapabilities",
    "SocialCapabilities",
]


class ChannelCapabilities:
    """The capabilities shared by every adapter of one channel kind."""

    name: ClassVar[str]
    """The channel this adapter carries: email, sms, mail or social."""
    public: ClassVar[bool] = False
    """Whether what it sends is visible to anyone (and so must carry no personal data)."""
    has_subject: ClassVar[bool] = False
    body_parts: ClassVar[tuple[str, ...]]
    """Which of ``text`` and ``html`` it can carry; a message needs at least one."""
    max_body_length: ClassVar[int | None] = None
    """The longest ``text`` it accepts, in characters (None: no practical limit)."""

    def check_message(self, message: OutboundMessage) -> None:
        """Raise :class:`MessageInvalid` if this channel cannot carry ``message``."""
        if message.channel != self.name:
            raise MessageInvalid(
                f"message {message.message_id} is for {message.channel}, not {self.name}")
        if message.subject is not None and not self.has_subject:
            raise MessageInvalid(f"{self.name} has no subject line; the message has one")
        if message.subject is not None and "".join(message.subject.splitlines()) != (
                message.subject):
            raise MessageInvalid("the subject must be one line: it becomes a header")
        for part in (message.subject, message.text, message.html):
            if part is not None and not _encodable(part):
                raise MessageInvalid(
                    f"message {message.message_id} holds text that is not valid Unicode "
                    "(a lone surrogate) and cannot be encoded")
        parts = {"text": message.text, "html": message.html}
        extra = [part for part, value in parts.items()
                 if value is not None and part not in self.body_parts]
        if extra:
            raise MessageInvalid(f"{self.name} cannot carry a {' or '.join(extra)} body")
        if not any(parts[part] for part in self.body_parts):
            raise MessageInvalid(
                f"message {message.message_id} has no {' or '.join(self.body_parts)} body")
        limit = self.max_body_length
        if limit is not None and message.text is not None and len(message.text) > limit:
            raise MessageInvalid(
                f"{self.name} text is {len(message.text)} characters; the limit is {limit}")
        self.check_kind_specific(message)

    def check_kind_specific(self, message: OutboundMessage) -> None:
        """Extra rules of one channel kind; none by default."""


class EmailCapabilities(ChannelCapabilities):
    name = "email"
    has_subject = True
    body_parts = ("text", "html")

    def check_kind_specific(self, message: OutboundMessage) -> None:
        # SPEC "Channels": every email carries the sender's postal address.
        if not message.sender_postal_address or not message.sender_postal_address.strip():
            raise MessageInvalid(
                "email needs the sender's postal address (set ORCHESTRATOR_POSTAL_ADDRESS)")
        if message.unsubscribe_url is not None:
            check_one_click_url(message.unsubscribe_url)


class SmsCapabilities(ChannelCapabilities):
    name = "sms"
    body_parts = ("text",)
    # Ten concatenated segments: the most carriers reliably deliver as one message.
    max_body_length = 1600


class MailCapabilities(ChannelCapabilities):
    name = "mail"
    body_parts = ("html",)


class SocialCapabilities(ChannelCapabilities):
    name = "social"
    public = True
    body_parts = ("text",)
    # Mastodon's default status length.
    max_body_length = 500


# RFC 5322 allows 998 characters a header line, less "List-Unsubscribe: <>".
MAX_UNSUBSCRIBE_URL_LENGTH = 960

CAPABILITIES: dict[str, type[ChannelCapabilities]] = {
    kind.name: kind
    for kind in (EmailCapabilities, SmsCapabilities, MailCapabilities, SocialCapabilities)
}


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_one_click_url(url: str) -> None:
    """RFC 8058: a one-click unsubscribe URI must be HTTPS, and it goes inside <...> in a
    header, so it may hold no whitespace or angle brackets, and must fit on one header
    line (folding a long URL would mangle it)."""
    if len(url) > MAX_UNSUBSCRIBE_URL_LENGTH:
        raise MessageInvalid(
            f"unsubscribe URL is {len(url)} characters; at most "
            f"{MAX_UNSUBSCRIBE_URL_LENGTH} fit in a List-Unsubscribe header")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise MessageInvalid(f"unsubscribe URL {url!r} is not a URL") from None
    if parts.scheme != "https" or not parts.netloc:
        raise MessageInvalid(
            f"unsubscribe URL {url!r} must be an https:// URL (RFC 8058 one-click "
            "unsubscribe); set ORCHESTRATOR_PUBLIC_URL to an https address")
    if any(ch.isspace() or ch in "<>\"" for ch in url):
        raise MessageInvalid(f"unsubscribe URL {url!r} holds spaces, quotes or angle brackets")
