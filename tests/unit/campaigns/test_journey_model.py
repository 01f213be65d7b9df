"""Moving through a journey's steps, as the engine will."""

from datetime import timedelta

import pytest

from orchestrator.campaigns.language.expressions import ExpressionFailed, compile_expression
from orchestrator.campaigns.language.journey import (
    BranchCase,
    BranchStep,
    EndStep,
    Journey,
    ScheduleTrigger,
    SendStep,
    TouchpointTrigger,
    WaitStep,
    WaitUntilStep,
)


def journey(*steps, trigger=None) -> Journey:
    return Journey(
        id="j", description="", trigger=trigger or TouchpointTrigger(on="purchase.recorded"),
        reentry=None, goal=None, exit_on=(), steps=steps, source_digest="0" * 64,
        source_path="j.yaml",
    )


VIP = compile_expression("contact.attributes.vip")
STEPS = (
    SendStep("hello", "relationship", "thanks"),
    WaitUntilStep("clicked", "message.clicked", timedelta(days=5)),
    BranchStep("check", (BranchCase(VIP, "done"), BranchCase(None, "offer"))),
    SendStep("offer", "relationship", "bundle_offer"),
    WaitStep("pause", timedelta(days=1)),
    EndStep("done"),
)


def test_sends_and_waits_fall_through_to_the_next_step():
    path = journey(*STEPS)
    assert path.first_step.id == "hello"
    assert path.next_step_id("hello") == "clicked"
    assert path.next_step_id("clicked") == "check"
    assert path.next_step_id("offer") == "pause"
    assert path.next_step_id("pause") == "done"


def test_branches_and_ends_do_not_fall_through():
    path = journey(*STEPS)
    assert path.next_step_id("check") is None
    assert path.next_step_id("done") is None
    assert path.successors("check") == ("done", "offer")
    assert path.successors("done") == ()


def test_after_the_last_step_the_journey_is_complete():
    assert journey(SendStep("only", "service", "thanks")).next_step_id("only") is None


def test_a_branch_takes_the_first_case_that_holds():
    check = journey(*STEPS).step("check")
    assert check.choose({"contact": {"attributes": {"vip": True}}}) == "done"
    assert check.choose({"contact": {"attributes": {}}}) == "offer"


def test_a_condition_that_cannot_be_evaluated_is_reported():
    check = BranchStep("check", (BranchCase(compile_expression("event.amount > 3"), "a"),
                                 BranchCase(None, "b")))
    with pytest.raises(ExpressionFailed):
        check.choose({"event": {"amount": "three"}})


def test_unknown_step_ids_are_key_errors():
    with pytest.raises(KeyError):
        journey(*STEPS).step("nope")


def test_a_broadcast_is_a_scheduled_journey():
    assert journey(*STEPS, trigger=ScheduleTrigger("0 9 * * MON", "UTC")).is_broadcast
    assert not journey(*STEPS).is_broadcast


def test_journeys_are_immutable_values():
    first, second = journey(*STEPS), journey(*STEPS)
    assert first == second and hash(first) == hash(second)
    with pytest.raises(AttributeError):
        first.id = "other"  # type: ignore[misc]
