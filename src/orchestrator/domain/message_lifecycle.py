"""The life of one message: its statuses, their order, and the one fold from the facts on
its stream (and the feedback about it) to where it stands.

The ``messages`` read model, ``audit why`` and reports all fold through here, so they can
never disagree about a message's status.

Order: the policy's word (``scheduled``, ``deferred``, ``suppressed``, ``held_for_review``)
comes first; then the send (``sent``); then the provider's feedback, which only moves a
message forward (``delivered`` < ``opened`` < ``clicked``: a late ``delivered`` after
``opened`` changes nothing, nor a late ``sent`` after ``delivered``). ``bounced`` and
``failed`` end the message whatever came before. A message claimed by a dispatcher is
``in_doubt`` until its outcome is recorded (if the process dies mid-send, it stays so
until another dispatcher claims it again); a released claim puts it back to
``scheduled``. A provider's "later" (``MessageRetryScheduled``) makes it ``deferred``
with the provider's reason until its retry time; a message that used up its attempts is
``failed`` with ``dead_letter`` set. A permanent refusal on one channel
(``ChannelRejected``) hands the message back to the policy, whose next decision says
where it goes (failover). Complaints and unsubscribes are about the contact's channel (a
suppression), not the message's status; they stay in its history.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

from orchestrator.domain import events as ev
from orchestrator.domain import journey_events as je

SCHEDULED: Final = "scheduled"
DEFERRED: Final = "deferred"
SENT: Final = "sent"
DELIVERED: Final = "delivered"
OPENED: Final = "opened"
CLICKED: Final = "clicked"
BOUNCED: Final = "bounced"
FAILED: Final = "failed"
IN_DOUBT: Final = "in_doubt"
SUPPRESSED: Final = "suppressed"
HELD_FOR_REVIEW: Final = "held_for_review"

# The contract's statuses (SPEC "Message statuses"), in the SPEC's order.
STATUSES: Final = (SCHEDULED, DEFERRED, SENT, DELIVERED, OPENED, CLICKED, BOUNCED, FAILED,
                   IN_DOUBT, SUPPRESSED, HELD_FOR_REVIEW)
# How far a message has gone once handed to a channel; a status only moves up this ladder.
PROGRESS: Final = {SENT: 1, DELIVERED: 2, OPENED: 3, CLICKED: 4}
FINAL: Final = frozenset({BOUNCED, FAILED})

FEEDBACK_STATUS: Final = {ev.MessageDelivered: DELIVERED, ev.MessageOpened: OPENED,
                          ev.MessageClicked: CLICKED, ev.MessageBounced: BOUNCED}
# Feedback that is recorded in a message's history without changing its status.
FEEDBACK_NOTE: Final = {ev.MessageComplained: "complained",
                        ev.MessageUnsubscribed: "unsubscribed"}


@dataclass(frozen=True)
class MessageStanding:
    """Where a message stands: status, the channel that carries (or would carry) it, the
    reason behind the status, and the provider's id once sent."""

    status: str = SCHEDULED
    channel: str | None = None
    reason: str | None = None
    provider_id: str | None = None
    dead_letter: bool = False


def advance(standing: MessageStanding, event: Any) -> MessageStanding:
    """The standing after one more fact about the message (other facts change nothing)."""
    if isinstance(event, je.MessageDecided):
        if standing.status in PROGRESS or standing.status in FINAL:
            return standing  # the policy speaks before a send, never after it
        return replace(standing, status=event.status, channel=event.channel,
                       reason=f"{event.rule}: {event.reason}")
    if isinstance(event, je.MessageClaimed):
        if standing.status in (SCHEDULED, DEFERRED):
            return replace(standing, status=IN_DOUBT)
        return standing
    if isinstance(event, je.MessageRetryScheduled):
        if standing.status == IN_DOUBT:
            return replace(standing, status=DEFERRED,
                           reason=f"provider: {event.reason} (retry from {event.not_before})")
        return standing
    if isinstance(event, je.MessageClaimReleased):
        if standing.status == IN_DOUBT:
            return replace(standing, status=SCHEDULED)
        return standing
    if isinstance(event, je.ChannelRejected):
        # Recorded by the dispatcher right after the refusal (and after the bounce that
        # an opt-out at the provider is): the message is the policy's again.
        if standing.status in PROGRESS:
            return standing
        return replace(standing, status=SCHEDULED, reason=f"{event.channel}: {event.reason}")
    if isinstance(event, je.MessageFailed):
        return replace(standing, status=FAILED, channel=event.channel, reason=event.reason,
                       dead_letter=isinstance(event, je.MessageDeadLettered))
    if isinstance(event, je.MessageSent):
        moved = replace(standing, channel=event.channel, provider_id=event.provider_id)
        return _forward(moved, SENT)
    status = FEEDBACK_STATUS.get(type(event))
    if status is None:
        return standing
    if status == BOUNCED:
        return replace(standing, status=BOUNCED, reason=event.reason or standing.reason)
    moved = _forward(standing, status)
    if moved is not standing and event.reason:
        moved = replace(moved, reason=event.reason)
    return moved


def _forward(standing: MessageStanding, status: str) -> MessageStanding:
    if standing.status in FINAL:
        return standing
    if PROGRESS.get(standing.status, 0) >= PROGRESS[status]:
        return standing
    return replace(standing, status=status)


def fold(events: list[Any]) -> MessageStanding:
    standing = MessageStanding()
    for event in events:
        standing = advance(standing, event)
    return standing


def history_entry(event: Any) -> dict[str, Any] | None:
    """One line of a message's history as auditors read it, or None for other facts."""
    if isinstance(event, je.MessageScheduled):
        return {"status": SCHEDULED, "at": event.at}
    if isinstance(event, je.MessageDecided):
        return {"status": event.status, "at": event.at, "rule": event.rule}
    if isinstance(event, je.MessageReconciled):
        return {"status": SENT, "at": event.at, "channel": event.channel,
                "reconciled": event.evidence}
    if isinstance(event, je.MessageSent):
        return {"status": SENT, "at": event.at, "channel": event.channel}
    if isinstance(event, je.MessageDeadLettered):
        return {"status": FAILED, "at": event.at, "reason": event.reason, "dead_letter": True}
    if isinstance(event, je.MessageFailed):
        return {"status": FAILED, "at": event.at, "reason": event.reason}
    if isinstance(event, je.ChannelRejected):
        return {"status": "rejected", "at": event.at, "channel": event.channel,
                "reason": event.reason}
    if isinstance(event, je.MessageRetryScheduled):
        return {"status": DEFERRED, "at": event.at, "reason": event.reason,
                "not_before": event.not_before}
    if isinstance(event, je.MessageClaimed):
        return {"status": "attempted", "at": event.at}
    status = FEEDBACK_STATUS.get(type(event)) or FEEDBACK_NOTE.get(type(event))
    if status is not None:
        return {"status": status, "at": event.at, "touchpoint": event.touchpoint_id}
    return None
