"""Stories over time: the same message decided again as the facts change."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.unit.policy.builders import contact, granted, request, run, suppression

from orchestrator.domain.policy import Rule, Status


def test_stop_while_a_message_is_deferred_suppresses_it_when_it_comes_due() -> None:
    evening = datetime(2026, 5, 12, 22, 30, tzinfo=UTC)  # 23:30 in London
    customer = contact(consents=granted("sms:marketing"))

    first = run(request(), customer, now=evening)
    assert (first.status, first.channel, first.rule) == (Status.DEFERRED, "sms",
                                                         Rule.SMS_QUIET_HOURS)

    stop = suppression("sms_stop", at=evening + timedelta(minutes=10), ref="ev-stop")
    opted_out = replace(customer, suppressions={"sms": stop})
    when_due = run(request(), opted_out, now=first.not_before)

    assert (when_due.status, when_due.channel, when_due.rule) == (
        Status.SUPPRESSED, None, Rule.SUPPRESSION_WINS)
    assert "sms_stop" in when_due.reason
    assert when_due.facts["sms.suppression_event_ref"] == "ev-stop"


def test_a_deferred_message_is_scheduled_when_it_comes_due_on_unchanged_facts() -> None:
    night = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 02:30 BST, the morning clocks change
    customer = contact(consents=granted("sms:marketing"))

    deferred = run(request(), customer, now=night)
    due = run(request(), customer, now=deferred.not_before)

    assert deferred.not_before == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert (due.status, due.channel) == (Status.SCHEDULED, "sms")
    assert due.facts["sms.local_time"] == "2026-03-29T08:00+01:00 Europe/London"


def test_unknown_handle_is_suppressed_until_a_verified_link_then_allowed() -> None:
    handle = contact(contact_id="mastodon:@ann", kind="unknown", stage="unknown",
                     consents=granted("email:marketing"))

    before = run(request(), handle)
    after = run(request(), replace(handle, has_verified_identity=True))

    assert (before.status, before.rule) == (Status.SUPPRESSED, Rule.REQUIRES_KNOWN_CUSTOMER)
    assert before.facts["verified_identity"] is False
    assert (after.status, after.channel) == (Status.SCHEDULED, "email")
    assert after.facts["verified_identity"] is True


def test_a_decision_is_an_event_payload_of_primitives() -> None:
    decision = run(request(), contact(consents=granted("email:marketing")))

    payload = decision.as_payload()

    assert json.loads(json.dumps(payload)) == payload
    assert payload["rule"] == Rule.PRIVATE_CHANNEL_CHOSEN
    assert payload["facts"]["email.consent_event_ref"] == "ev-email-marketing"


def test_the_decision_cannot_be_changed_after_the_fact() -> None:
    decision = run(request(), contact(consents=granted("email:marketing")))
    with pytest.raises(TypeError):
        decision.facts["email.consent_event_ref"] = "forged"  # type: ignore[index]
    assert decision.facts["email.consent_event_ref"] == "ev-email-marketing"
