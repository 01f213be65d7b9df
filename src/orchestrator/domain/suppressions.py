"""Which facts stop a channel for a contact, written once for every view: the policy (in
a run, and when a reviewer releases a held message), ``audit contact`` and the
``contacts`` read model all apply these rules.

- ``sms.inbound`` STOP (and the other opt-out words) suppresses SMS; START lifts it.
- ``message.complained`` and ``message.unsubscribed`` suppress the channel that message
  went out on.
- ``message.bounced`` suppresses that channel only when the bounce is **hard**: a 5xx
  SMTP status (``550``, ``5.1.1``), SendGrid's ``bounce`` event, or any reason that does
  not say it is soft. A **soft** bounce does not suppress: a
  4xx status (``421``, ``4.2.2``), SendGrid's ``deferred`` and ``blocked`` events, or words
  such as "soft", "temporary", "mailbox full", "quota", "try again". A bounce with no
  reason, or one that says neither, is taken as hard: sending on to an address that
  bounced hurts every later message's deliverability.
- An SMS failure reported by Twilio (reason ``twilio CODE: status``, as ``serve`` records
  it) is classified by its error code, as an SMTP status is: the codes that say the number
  cannot take our messages (21610 the recipient replied STOP, 21211/21614 not a valid
  mobile number, 30004 blocked, 30005 unknown number, 30006 landline or unreachable
  carrier) are hard; every other Twilio code (30003 handset off, 30007 carrier filtering,
  30008 unknown error, ...) is soft: the number may take the next message.
- ``forget`` (erasure) suppresses every private channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from orchestrator.domain import events as ev

UNSUBSCRIBED: Final = "unsubscribed"
HARD_BOUNCE: Final = "hard_bounce"
COMPLAINT: Final = "complaint"
SMS_STOP: Final = "sms_stop"
ERASED: Final = "erased"

_STATUS_CODE = re.compile(r"(?<![\d.])([245])(?:\.\d{1,3}\.\d{1,3}|\d\d)(?![\d.])")
_TWILIO_CODE = re.compile(r"\btwilio (\d{5})\b")
TWILIO_HARD_CODES: Final = frozenset({"21211", "21610", "21612", "21614", "30004", "30005",
                                      "30006"})
_SOFT_WORDS = ("soft", "deferred", "blocked", "temporar", "mailbox full", "quota",
               "try again", "retry", "greylist", "rate limit", "throttl")


def bounce_is_hard(reason: str | None) -> bool:
    """Whether a bounce should stop the channel for good (see the module's rules)."""
    text = (reason or "").lower()
    twilio = _TWILIO_CODE.search(text)
    if twilio is not None:
        return twilio.group(1) in TWILIO_HARD_CODES
    code = _STATUS_CODE.search(text)
    if code is not None:
        return code.group(1) == "5"
    return not any(word in text for word in _SOFT_WORDS)


def feedback_suppression(feedback: Any) -> str | None:
    """The suppression reason a piece of provider feedback causes, if any."""
    if isinstance(feedback, ev.MessageComplained):
        return COMPLAINT
    if isinstance(feedback, ev.MessageUnsubscribed):
        return UNSUBSCRIBED
    if isinstance(feedback, ev.MessageBounced) and bounce_is_hard(feedback.reason):
        return HARD_BOUNCE
    return None


@dataclass(frozen=True)
class ChannelFeedback:
    """Feedback about one of the contact's messages, with the channel it went out on:
    the form in which feedback joins a contact's facts."""

    feedback: Any
    channel: str

    @property
    def at(self) -> str:
        return self.feedback.at

    @property
    def timestamp(self) -> Any:
        return self.feedback.timestamp
