"""The channel policy decides every message of a run, and `audit why` explains each one."""

from __future__ import annotations

import json

import pytest
from tests.journeys_support import JourneyWorld
from tests.support import consent, contact, purchase

AT = "2026-03-02T10:00:00+00:00"

ON_PURCHASE = """
journey: after-purchase
trigger: {on: purchase.recorded}
steps:
  - id: hello
    send: {intent: relationship, template: TEMPLATE}
"""


@pytest.fixture
def world(cli, store_url, tmp_path):
    world = JourneyWorld(cli, store_url, tmp_path)
    (world.templates / "sms_only").mkdir()
    (world.templates / "sms_only" / "sms.txt").write_text("Hi from the shop")
    return world


def why(world, message):
    result = world.run_cli("audit", "why", message, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_no_consent_is_suppressed_with_a_reason_that_names_consent(world):
    world.publish(ON_PURCHASE.replace("TEMPLATE", "thanks"))
    world.ingest(contact("c", AT), purchase("p", AT))
    world.run("2026-03-03T00:00:00+00:00")

    [message] = world.messages()
    chain = why(world, message["id"])

    assert (message["status"], message["channel"]) == ("suppressed", None)
    assert "consent" in message["reason"]
    assert chain["decisions"][0]["rule"] == "relationship.requires_marketing_consent"
    facts = chain["decisions"][0]["facts"]
    assert (facts["journey"], facts["journey_version"], facts["step"]) == (
        "after-purchase", 1, "hello")
    assert chain["contact_at_decision"]["stage"] == "light_buyer"
    assert chain["trigger"]["touchpoint_id"] == "p"


def test_consent_withdrawn_a_minute_before_the_send_is_respected(world):
    world.publish(ON_PURCHASE.replace("TEMPLATE", "thanks"))
    world.ingest(contact("c", AT), consent("g", "2026-03-01T10:00:00+00:00"),
                 consent("w", "2026-03-02T09:59:00+00:00", granted=False), purchase("p", AT))
    world.run("2026-03-03T00:00:00+00:00")

    [message] = world.messages()

    assert message["status"] == "suppressed"
    assert why(world, message["id"])["contact_at_decision"]["consents"][0]["status"] == (
        "withdrawn")


def test_sms_at_half_past_two_local_is_deferred_to_eight_then_sent(world):
    world.publish(ON_PURCHASE.replace("TEMPLATE", "sms_only"))
    night = "2026-03-29T02:30:00+01:00"  # the night the UK moves to summer time
    world.ingest(contact("c", "2026-03-01T10:00:00+00:00", phone="+447700900123",
                         timezone="Europe/London"),
                 consent("g", "2026-03-01T10:00:00+00:00", channel="sms"), purchase("p", night))
    world.run("2026-03-30T00:00:00+00:00")

    [message] = world.messages()
    chain = why(world, message["id"])

    assert [d["status"] for d in chain["decisions"]] == ["deferred", "scheduled"]
    assert chain["decisions"][0]["rule"] == "sms.quiet_hours"
    assert chain["decisions"][0]["not_before"] == "2026-03-29T07:00:00+00:00"  # 08:00 BST
    assert (message["status"], message["channel"]) == ("sent", "sms")
    [written] = [json.loads(line) for line in (world.outbox / "sms.jsonl").read_text()
                 .splitlines()]
    assert (written["id"], written["at"]) == (message["id"], "2026-03-29T07:00:00+00:00")


def test_stop_arriving_while_a_message_is_deferred_wins(world):
    world.publish(ON_PURCHASE.replace("TEMPLATE", "sms_only"))
    world.ingest(contact("c", "2026-03-01T10:00:00+00:00", phone="+447700900123",
                         timezone="Europe/London"),
                 consent("g", "2026-03-01T10:00:00+00:00", channel="sms"),
                 purchase("p", "2026-03-10T23:30:00+00:00"),
                 {"id": "stop", "type": "sms.inbound", "at": "2026-03-11T06:00:00+00:00",
                  "phone": "+447700900123", "body": "STOP"})
    world.run("2026-03-12T00:00:00+00:00")

    [message] = world.messages()
    chain = why(world, message["id"])

    assert [d["status"] for d in chain["decisions"]] == ["deferred", "suppressed"]
    assert chain["decisions"][1]["rule"] == "suppression.wins"


MENTION_REPLY = """
journey: replies
trigger: {on: social.mention}
steps:
  - id: reply
    send: {intent: showcase, template: reply}
"""


@pytest.mark.parametrize(("mention", "status"), [
    ({"stance": "hostile"}, "held_for_review"),
    ({"stance": "neutral", "author_kind": "press"}, "held_for_review"),
    ({"stance": "positive", "author_kind": "competitor"}, "held_for_review"),
    ({"stance": "positive"}, "sent"),
])
def test_replies_to_hostile_press_or_competitor_mentions_are_held(world, mention, status):
    world.publish(MENTION_REPLY)
    world.ingest({"id": "m", "type": "social.mention", "at": AT, "network": "mastodon",
                  "handle": "@someone", "text": "about the shop", **mention})
    world.run("2026-03-03T00:00:00+00:00")

    [message] = world.messages()

    assert message["status"] == status
    assert message["contact"] is None
    assert why(world, message["id"])["trigger"]["type"] == "SocialMentionReceived"


SEGMENT_IN_PUBLIC = """
journey: leaky-offer
trigger: {schedule: "0 9 * * MON", timezone: Europe/London}
steps:
  - id: offer
    send: {intent: activation, template: spot, audience: segment}
"""


def test_a_segment_offer_in_a_broadcast_is_never_published(world):
    world.publish(SEGMENT_IN_PUBLIC)
    world.ingest(contact("c", AT))
    world.run("2026-03-10T00:00:00+00:00")

    [message] = world.messages()

    assert (message["status"], message["channel"]) == ("suppressed", None)
    assert message["reason"].startswith("public.segment_never_public")


def test_delivery_feedback_moves_the_status_and_why_lists_it(world):
    world.publish(ON_PURCHASE.replace("TEMPLATE", "thanks"))
    world.ingest(contact("c", AT, email="c1@example.com"), consent("g", AT), purchase("p", AT))
    world.run("2026-03-03T00:00:00+00:00")
    [message] = world.messages()
    assert (message["status"], message["channel"]) == ("sent", "email")
    assert (world.outbox / "email" / f"{message['id']}.eml").exists()
    for n, kind in enumerate(["delivered", "opened", "clicked"]):
        world.ingest({"id": f"f{n}", "type": f"message.{kind}",
                      "at": f"2026-03-03T0{n + 1}:00:00+00:00", "message": message["id"]})
        world.run(f"2026-03-03T0{n + 1}:30:00+00:00")
        assert world.messages()[0]["status"] == kind
        assert why(world, message["id"])["status"] == kind
    world.ingest({"id": "b", "type": "message.bounced", "at": "2026-03-03T05:00:00+00:00",
                  "message": message["id"], "reason": "mailbox full"})

    chain = why(world, message["id"])

    assert chain["status"] == "bounced"
    # "attempted": the hand-over to the channel, recorded before the call.
    assert [h["status"] for h in chain["history"]] == ["scheduled", "scheduled", "attempted",
                                                       "sent", "delivered", "opened",
                                                       "clicked", "bounced"]
    assert chain["provider"]["provider_id"].startswith("dry-run:email:")


def test_consent_without_an_address_on_that_channel_is_not_a_channel(world):
    world.publish(ON_PURCHASE.replace("TEMPLATE", "thanks"))
    world.ingest(contact("c", AT), consent("g", AT), purchase("p", AT))  # no email address
    world.run("2026-03-03T00:00:00+00:00")

    [message] = world.messages()

    assert message["status"] == "suppressed"
    assert "no email address on record" in message["reason"]


def test_why_for_an_unknown_message_is_bad_input(world):
    world.ingest(contact("c", AT))

    result = world.run_cli("audit", "why", "msg-nope")

    assert result.code == 2
    assert "no message 'msg-nope'" in result.err


@pytest.mark.parametrize(("verb", "status", "rule", "who"), [
    ("approve", "scheduled", "public.channel_chosen", "released_by"),
    ("dismiss", "suppressed", "review.dismissed", "reviewer")])
def test_the_review_queue_records_who_released_or_stopped_a_message(world, verb, status, rule,
                                                                    who):
    world.publish(MENTION_REPLY)
    world.ingest({"id": "m", "type": "social.mention", "at": AT, "network": "mastodon",
                  "handle": "@someone", "text": "awful", "stance": "hostile"})
    world.run("2026-03-03T00:00:00+00:00")
    [held] = json.loads(world.run_cli("review", "list", "--json").out)

    acted = world.run_cli("review", verb, held["id"], "--by", "ana@example.com",
                          "--note", "checked with support")
    again = world.run_cli("review", verb, held["id"], "--by", "ana@example.com")

    assert acted.code == 0, acted.err
    assert again.code == 2 and "not held for review" in again.err
    assert json.loads(world.run_cli("review", "list", "--json").out) == []
    chain = why(world, held["id"])
    assert chain["status"] == status
    assert chain["decisions"][-1]["rule"] == rule
    assert chain["decisions"][-1]["facts"][who] == "ana@example.com"
    world.run("2026-03-04T00:00:00+00:00")  # the next run sends what was released
    assert why(world, held["id"])["status"] == ("sent" if verb == "approve" else "suppressed")
    reviews = world.events("ReviewApproved" if verb == "approve" else "ReviewDismissed")
    assert [(r["actor"], r["note"]) for r in reviews] == [("ana@example.com",
                                                          "checked with support")]


def test_a_message_that_cannot_be_rendered_is_failed_and_why_says_so(world):
    (world.templates / "broken").mkdir()
    # Valid at publish (attributes are the producer's data); this contact has no nickname.
    (world.templates / "broken" / "email.txt").write_text(
        "Hello {{ contact.attributes.nickname }}")
    world.publish(ON_PURCHASE.replace("TEMPLATE", "broken"))
    world.ingest(contact("c", AT, email="c1@example.com"), consent("g", AT), purchase("p", AT))

    world.run("2026-03-03T00:00:00+00:00")
    again = world.run("2026-03-04T00:00:00+00:00")

    [message] = world.messages()
    chain = why(world, message["id"])
    assert (message["status"], message["channel"]) == ("failed", "email")
    assert "contact.attributes.nickname" in message["reason"]
    assert [h["status"] for h in chain["history"]][-1] == "failed"
    assert "written" not in again  # a failed message is not retried
