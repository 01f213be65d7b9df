"""Reliable dispatch through the CLI, with in-memory twins that fail as providers do:
short "later"s retried in the process, long ones recorded with a retry time, dead
letters, failover to the next consented private channel, opt-outs at the provider,
answers lost after the hand-over (in doubt), and an account's circuit breaker."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from tests.conftest import TEST_NOW, fixed_clock, run_cli
from tests.journeys_support import THANKS_ON_PURCHASE, JourneyWorld
from tests.support import consent, contact, purchase

from orchestrator.application import dispatch as dispatching
from orchestrator.channels.errors import (
    PermanentRejection,
    RecipientOptedOut,
    TransientFailure,
)
from orchestrator.channels.memory import MemorySmsChannel, memory_channels

AT = "2026-03-02T10:00:00+00:00"
UNTIL = "2026-03-03T00:00:00+00:00"
PHONE = "+447700900123"


class NoIdempotencySms(MemorySmsChannel):
    """Like Twilio: the provider cannot tell a second hand-over from a new message."""

    idempotent = False


class World(JourneyWorld):
    """A journey world whose runs go through the given twins, at a clock of our choosing."""

    def __init__(self, store_url, folder, twins):
        self.twins = twins
        self.clock = fixed_clock()
        super().__init__(self._cli, store_url, folder)

    def _cli(self, *args):
        return run_cli(*args, clock=self.clock, channels=lambda settings, stamp: self.twins)

    def at(self, moment):
        self.clock = fixed_clock(moment)
        return self

    def why(self, message):
        return json.loads(self.run_cli("audit", "why", message, "--json").out)


def buyer(world, *channels, contact_fields=None):
    fields = {"email": "ada@example.com", "phone": PHONE, "timezone": "Europe/London",
              **(contact_fields or {})}
    world.ingest(contact("c", "2026-03-01T09:00:00+00:00", **fields),
                 *(consent(f"k-{ch}", "2026-03-01T09:00:00+00:00", channel=ch)
                   for ch in channels),
                 purchase("p", AT))
    world.publish(THANKS_ON_PURCHASE)


@pytest.fixture
def twins():
    return memory_channels()


def test_a_short_later_is_retried_in_the_process_and_sent_once(store_url, tmp_path, twins):
    world = World(store_url, tmp_path, twins)
    buyer(world, "email")
    twins["email"].fail_next(TransientFailure("HTTP 503", status_code=503, retry_after=0))
    world.run(UNTIL)
    [message] = world.messages()
    assert (message["status"], message["channel"]) == ("sent", "email")
    assert len(twins["email"].sent) == 1


def test_a_long_later_waits_in_the_store_for_its_retry_time(store_url, tmp_path, twins):
    world = World(store_url, tmp_path, twins)
    buyer(world, "email")
    twins["email"].fail_next(TransientFailure("HTTP 429", status_code=429, retry_after=600))
    world.run(UNTIL)
    [message] = world.messages()
    assert message["status"] == "deferred"
    assert "HTTP 429" in message["reason"] and "retry from" in message["reason"]
    assert twins["email"].sent == []

    world.at(TEST_NOW + timedelta(seconds=300)).run(UNTIL)  # before the retry time
    assert twins["email"].sent == []
    world.at(TEST_NOW + timedelta(seconds=601)).run(UNTIL)
    [message] = world.messages()
    assert message["status"] == "sent"
    assert len(twins["email"].sent) == 1
    history = [entry["status"] for entry in world.why(message["id"])["history"]]
    assert "deferred" in history[history.index("attempted"):]


def test_a_message_that_never_gets_through_is_dead_lettered(store_url, tmp_path, twins):
    world = World(store_url, tmp_path, twins)
    buyer(world, "email")
    later = TransientFailure("HTTP 500", status_code=500, retry_after=7200)
    moment = TEST_NOW
    for _ in range(dispatching.MAX_ATTEMPTS):
        twins["email"].fail_next(later)
        world.at(moment).run(UNTIL)
        moment += timedelta(hours=3)
    [message] = world.messages()
    assert message["status"] == "failed"
    assert message["dead_letter"] is True
    assert message["reason"].startswith(f"dead letter after {dispatching.MAX_ATTEMPTS}")
    world.at(moment).run(UNTIL)  # a dead letter is not tried again
    assert twins["email"].sent == []


def test_a_permanent_refusal_fails_over_to_the_next_consented_channel(store_url, tmp_path,
                                                                       twins):
    world = World(store_url, tmp_path, twins)
    buyer(world, "email", "sms")
    twins["email"].fail_next(PermanentRejection("HTTP 400: invalid recipient", status_code=400))
    world.run(UNTIL)
    [message] = world.messages()
    assert (message["status"], message["channel"]) == ("sent", "sms")
    assert [m.to_address for m in twins["sms"].sent] == [PHONE]
    decisions = world.why(message["id"])["decisions"]
    assert [d["channel"] for d in decisions] == ["email", "sms"]
    assert decisions[-1]["rule"].startswith("failover:")
    assert decisions[-1]["facts"]["rejected_channels"] == ["email"]


def test_without_another_consented_channel_the_refusal_fails_the_message(store_url, tmp_path,
                                                                          twins):
    world = World(store_url, tmp_path, twins)
    buyer(world, "email")
    twins["email"].fail_next(PermanentRejection("HTTP 400: invalid recipient", status_code=400))
    world.run(UNTIL)
    [message] = world.messages()
    assert (message["status"], message["channel"]) == ("failed", "email")
    assert "invalid recipient" in message["reason"]
    assert all(twin.sent == [] for twin in twins.values())  # never moved to social


def test_an_opt_out_at_the_provider_stops_sms_for_the_contact(store_url, tmp_path, twins):
    world = World(store_url, tmp_path, twins)
    buyer(world, "sms")
    twins["sms"].fail_next(RecipientOptedOut("twilio 21610: unsubscribed recipient",
                                             provider_code="21610"))
    world.run(UNTIL)
    [message] = world.messages()
    assert (message["status"], message["channel"]) == ("failed", "sms")
    state = json.loads(world.run_cli("audit", "contact", "C1", "--as-of",
                                     "2026-03-04T00:00:00+00:00", "--json").out)
    assert "sms" in {s["channel"] for s in state["suppressions"]}

    assert twins["sms"].sent == []


def test_a_lost_answer_on_sms_is_left_in_doubt_and_never_resent_blindly(store_url, tmp_path):
    twins = {**memory_channels(), "sms": NoIdempotencySms()}
    world = World(store_url, tmp_path, twins)
    buyer(world, "sms")
    twins["sms"].fail_next(TransientFailure("read timeout", maybe_accepted=True))
    world.run(UNTIL)
    [message] = world.messages()
    assert message["status"] == "in_doubt"

    after_lease = TEST_NOW + dispatching.CLAIM_LEASE + timedelta(seconds=1)
    world.at(after_lease).run(UNTIL)
    [message] = world.messages()
    assert message["status"] == "in_doubt"
    assert twins["sms"].sent == []

    world.ingest({"id": "d1", "type": "message.delivered", "at": "2026-03-02T10:05:00+00:00",
                  "message": message["id"]})
    world.at(after_lease + dispatching.CLAIM_LEASE * 2).run(UNTIL)
    [message] = world.messages()
    assert message["status"] == "delivered"
    history = world.why(message["id"])["history"]
    assert any(entry.get("reconciled", "").startswith("provider feedback") for entry in history)
    assert twins["sms"].sent == []


def test_a_lost_answer_on_email_is_sent_again_after_the_lease(store_url, tmp_path, twins):
    world = World(store_url, tmp_path, twins)
    twins["email"].idempotent = False
    buyer(world, "email")
    twins["email"].fail_next(TransientFailure("read timeout", maybe_accepted=True))
    world.run(UNTIL)
    assert world.messages()[0]["status"] == "in_doubt"
    world.at(TEST_NOW + timedelta(seconds=60)).run(UNTIL)  # lease still runs
    assert twins["email"].sent == []
    world.at(TEST_NOW + dispatching.CLAIM_LEASE + timedelta(seconds=1)).run(UNTIL)
    assert world.messages()[0]["status"] == "sent"
    assert len(twins["email"].sent) == 1


def test_an_accounts_circuit_opens_after_repeated_failures(store_url, tmp_path, twins):
    world = World(store_url, tmp_path, twins)
    world.ingest(*(contact(f"c{i}", "2026-03-01T09:00:00+00:00", f"C{i}",
                           email=f"p{i}@example.com") for i in range(12)),
                 *(consent(f"k{i}", "2026-03-01T09:00:00+00:00", f"C{i}") for i in range(12)),
                 *(purchase(f"p{i}", AT, f"C{i}") for i in range(12)))
    world.publish(THANKS_ON_PURCHASE)
    attempts = []
    original = twins["email"].send

    def failing(message):
        attempts.append(message.message_id)
        raise TransientFailure("HTTP 503", status_code=503, retry_after=3600)

    twins["email"].send = failing
    try:
        world.run(UNTIL)
    finally:
        twins["email"].send = original
    statuses = {m["status"] for m in world.messages()}
    assert statuses == {"deferred"}
    reasons = [m["reason"] for m in world.messages()]
    assert sum("circuit open" in reason for reason in reasons) >= 12 - 5
    assert len(attempts) == 5  # the breaker stopped the hand-overs after five failures
