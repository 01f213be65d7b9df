"""The one fold from a message's facts to its status (domain/message_lifecycle.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.domain import events as ev
from orchestrator.domain import journey_events as je
from orchestrator.domain import message_lifecycle as lifecycle

STREAM = uuid4()
WHEN = datetime(2026, 3, 1, tzinfo=UTC)
AT = WHEN.isoformat()


def fact(cls, **fields):
    return cls(originator_id=STREAM, originator_version=1, timestamp=WHEN, **fields)


def chosen():
    return fact(je.ChannelChosen, message="m", status="scheduled", channel="email",
                rule="private.channel_chosen", reason="ok", facts={}, not_before=None, at=AT)


def claimed():
    return fact(je.MessageClaimed, message="m", claimed_by="a", lease_until=AT, at=AT)


def sent():
    return fact(je.MessageSent, message="m", channel="email", provider_id="p", at=AT)


def feedback(cls, reason=None):
    return fact(cls, touchpoint_id=str(uuid4()), at=AT, message="m", provider_id=None,
                reason=reason)


FEEDBACK = [ev.MessageDelivered, ev.MessageOpened, ev.MessageClicked]


def test_a_claim_without_an_outcome_is_in_doubt_and_a_release_puts_it_back():
    assert lifecycle.fold([chosen(), claimed()]).status == "in_doubt"
    released = fact(je.MessageClaimReleased, message="m", claimed_by="a", reason="429",
                    at=AT)
    assert lifecycle.fold([chosen(), claimed(), released]).status == "scheduled"
    assert lifecycle.fold([chosen(), claimed(), sent()]).status == "sent"


@given(st.lists(st.sampled_from([*FEEDBACK, "sent"]), max_size=8))
def test_feedback_in_any_order_never_moves_a_status_backwards(order):
    events = [chosen(), claimed(), sent()]
    highest = lifecycle.PROGRESS["sent"]
    standing = lifecycle.fold(events)
    for item in order:
        event = sent() if item == "sent" else feedback(item)
        standing = lifecycle.advance(standing, event)
        rank = lifecycle.PROGRESS[standing.status]
        assert rank >= highest
        highest = rank
    expected = max([lifecycle.PROGRESS["sent"], *(
        lifecycle.PROGRESS[lifecycle.FEEDBACK_STATUS[i]] for i in order if i != "sent")])
    assert lifecycle.PROGRESS[standing.status] == expected


def test_a_bounce_ends_the_message_and_complaints_leave_the_status():
    base = [chosen(), claimed(), sent(), feedback(ev.MessageDelivered)]
    assert lifecycle.fold([*base, feedback(ev.MessageBounced, "550")]).status == "bounced"
    assert lifecycle.fold([*base, feedback(ev.MessageComplained)]).status == "delivered"
    assert lifecycle.fold([*base, feedback(ev.MessageBounced), feedback(ev.MessageOpened)]
                          ).status == "bounced"
