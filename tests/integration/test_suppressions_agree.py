"""One suppression projection: after feedback on a message, the policy, `audit contact`
and `contacts` agree on which channels are stopped; a soft bounce stops nothing."""

from __future__ import annotations

import json

import pytest
from tests.journeys_support import JourneyWorld
from tests.support import consent, contact, purchase

AT = "2026-03-02T10:00:00+00:00"
LATER = "2026-03-10T10:00:00+00:00"
ON_PURCHASE = """
journey: after-purchase
trigger: {on: purchase.recorded}
reentry: 1d
steps:
  - id: hello
    send: {intent: relationship, template: thanks}
"""


@pytest.fixture
def world(cli, store_url, tmp_path):
    world = JourneyWorld(cli, store_url, tmp_path)
    world.publish(ON_PURCHASE)
    world.ingest(contact("c", AT, email="c1@example.com"), consent("g", AT),
                 purchase("p1", AT))
    world.run("2026-03-03T00:00:00+00:00")
    return world


def views(world):
    audit = world.run_cli("audit", "contact", "C1", "--as-of", "2026-03-20T00:00:00+00:00",
                          "--json")
    listed = world.run_cli("contacts", "--as-of", "2026-03-20T00:00:00+00:00", "--json")
    assert audit.code == 0 and listed.code == 0, audit.err + listed.err
    [row] = json.loads(listed.out)
    return ({s["channel"]: s["reason"] for s in json.loads(audit.out)["suppressions"]},
            row["suppressed_channels"])


def feedback(world, kind, reason):
    [first] = world.messages()
    world.ingest({"id": f"fb-{kind}", "type": f"message.{kind}", "at": "2026-03-03T10:00:00+00:00",
                  "message": first["id"], "reason": reason})
    world.ingest(purchase("p2", LATER))
    world.run("2026-03-11T00:00:00+00:00")
    return [m for m in world.messages() if m["id"] != first["id"]]


@pytest.mark.parametrize(("kind", "reason", "rule"), [
    ("bounced", "550 5.1.1 user unknown", "hard_bounce"),
    ("bounced", None, "hard_bounce"),
    ("complained", None, "complaint"),
    ("unsubscribed", None, "unsubscribed"),
])
def test_feedback_that_stops_email_is_seen_by_policy_audit_and_contacts(world, kind, reason,
                                                                        rule):
    [second] = feedback(world, kind, reason)

    audit, listed = views(world)
    assert audit == {"email": rule}
    assert listed == ["email"]
    assert (second["status"], second["channel"]) == ("suppressed", None)
    assert second["reason"].startswith("suppression.wins")


@pytest.mark.parametrize("reason", ["421 4.2.2 mailbox full", "deferred", "blocked",
                                    "soft bounce: try again later"])
def test_a_soft_bounce_stops_nothing_anywhere(world, reason):
    [second] = feedback(world, "bounced", reason)

    assert views(world) == ({}, [])
    assert (second["status"], second["channel"]) == ("sent", "email")
    [first] = [m for m in world.messages() if m["id"] != second["id"]]
    assert first["status"] == "bounced"  # the message itself did bounce


def test_sms_stop_and_start_agree_across_views(cli, store_url, tmp_path):
    world = JourneyWorld(cli, store_url, tmp_path)
    world.ingest(contact("c", AT, phone="+447700900123"),
                 {"id": "s1", "type": "sms.inbound", "at": AT, "phone": "+447700900123",
                  "body": "STOP"})
    assert views(world) == ({"sms": "sms_stop"}, ["sms"])
    world.ingest({"id": "s2", "type": "sms.inbound", "at": LATER, "phone": "+447700900123",
                  "body": "START"})
    assert views(world) == ({}, [])
