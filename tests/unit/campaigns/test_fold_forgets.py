"""What the engine's fold drops before it is saved (docs/engine-state.md): only messages
nothing more will happen to, sends no cap counts, and mentions nothing answers; never a
message still waiting for a decision, a send or a reviewer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from orchestrator.campaigns.runtime.fold import SETTLED_KEPT_FOR, EngineFold
from orchestrator.domain import journey_events as je
from orchestrator.domain.stages import StageThresholds

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
LATER = T0 + SETTLED_KEPT_FOR + timedelta(days=1)
WEEK = timedelta(days=7)


def fact(event_class, **fields):
    return event_class(originator_id=uuid4(), originator_version=1, timestamp=T0, **fields)


def scheduled(message: str, contact: str = "C1", at: datetime = T0, trigger: str = "t"):
    return fact(je.MessageScheduled, message=message, enrolment=f"e-{message}",
                contact=contact, journey="j", version=1, step="s", intent="relationship",
                audience="personal", template="thanks", trigger=trigger, at=at.isoformat())


def decided(event_class, message: str, channel: str | None = None, at: datetime = T0):
    status = {je.ChannelChosen: "scheduled", je.MessageSuppressed: "suppressed",
              je.ReviewRequested: "held_for_review", je.MessageDeferred: "deferred"}
    return fact(event_class, message=message, status=status[event_class], channel=channel,
                rule="r", reason="why", facts={}, not_before=None, at=at.isoformat())


def sent(message: str):
    return fact(je.MessageSent, message=message, channel="email", provider_id="p",
                at=T0.isoformat())


def folded(*events) -> EngineFold:
    fold = EngineFold(StageThresholds())
    for position, event in enumerate(events, start=1):
        fold.take(position, event, clock=T0, high_water=position)
    return fold


def test_only_messages_nothing_more_happens_to_are_dropped():
    fold = folded(
        scheduled("sent"), decided(je.ChannelChosen, "sent", "email"), sent("sent"),
        scheduled("suppressed"), decided(je.MessageSuppressed, "suppressed"),
        scheduled("chosen"), decided(je.ChannelChosen, "chosen", "email"),  # not sent yet
        scheduled("held"), decided(je.ReviewRequested, "held"),
        scheduled("undecided"),
        scheduled("recent", at=LATER - timedelta(days=2)),
        decided(je.MessageSuppressed, "recent"))

    dropped = fold.forget_settled(LATER, WEEK)

    assert dropped == 2
    assert set(fold.memory.scheduled) == {"chosen", "held", "undecided", "recent"}
    assert fold.memory.addressee("chosen") == ("C1", "email")
    assert fold.memory.addressee("sent") is None  # (no store to look it up in here)


def test_a_dropped_message_is_looked_up_for_its_feedback():
    fold = folded(scheduled("m", contact="C7"), decided(je.ChannelChosen, "m", "sms"),
                  sent("m"))
    fold.forget_settled(LATER, WEEK)
    asked = []
    fold.memory.look_up = lambda message: asked.append(message) or ("C7", "sms")

    assert fold.memory.addressee("m") == ("C7", "sms")
    assert asked == ["m"]


def test_a_held_message_released_after_the_horizon_still_counts_toward_the_caps():
    fold = folded(scheduled("held"), decided(je.ReviewRequested, "held"))
    fold.forget_settled(LATER, WEEK)
    approved_at = LATER + timedelta(hours=1)
    fold.take(3, fact(je.ReviewApproved, message="held", actor="ana", note=None,
                      at=approved_at.isoformat()), clock=LATER, high_water=3)
    fold.take(4, decided(je.ChannelChosen, "held", "email", at=approved_at), clock=LATER,
              high_water=4)

    assert fold.memory.sends["C1"] == [("email", approved_at)]
    assert fold.memory.released["held"] == "ana"


def test_sends_older_than_the_longest_cap_are_dropped_and_recent_ones_kept():
    old, recent = LATER - WEEK - timedelta(hours=1), LATER - WEEK + timedelta(hours=1)
    fold = folded(scheduled("a", at=old), decided(je.ChannelChosen, "a", "email", at=old),
                  scheduled("b", at=recent),
                  decided(je.ChannelChosen, "b", "email", at=recent))

    fold.forget_settled(LATER, WEEK)

    assert fold.memory.sends["C1"] == [("email", recent)]
    assert fold.sends_kept_for == WEEK
