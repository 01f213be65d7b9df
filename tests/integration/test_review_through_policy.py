"""Approving a held reply sends it back through the channel policy: a public reply stays
public, a private one gets a private channel by the rules or is suppressed, never social."""

from __future__ import annotations

import json

import pytest
from tests.journeys_support import PUBLIC_MENTION_REPLY, JourneyWorld
from tests.support import consent, contact

AT = "2026-03-02T10:00:00+00:00"
PRIVATE_REPLY = """
journey: care
trigger: {on: social.mention}
steps:
  - id: reach-out
    send: {intent: service, template: care}
"""


@pytest.fixture
def world(cli, store_url, tmp_path):
    world = JourneyWorld(cli, store_url, tmp_path)
    (world.templates / "care").mkdir()
    (world.templates / "care" / "email.txt").write_text("We are sorry; how can we help?")
    (world.templates / "care" / "social.txt").write_text("We are on it.")
    return world


def held_then_approved(world, journey, *touchpoints):
    world.publish(journey)
    world.ingest(*touchpoints, {"id": "m", "type": "social.mention", "at": AT,
                                "network": "mastodon", "handle": "@dana",
                                "text": "this is a disgrace", "stance": "hostile"})
    world.run("2026-03-03T00:00:00+00:00")
    [held] = json.loads(world.run_cli("review", "list", "--json").out)
    approved = world.run_cli("review", "approve", held["id"], "--by", "ana")
    assert approved.code == 0, approved.err
    world.run("2026-03-04T00:00:00+00:00")
    [message] = world.messages()
    chain = json.loads(world.run_cli("audit", "why", message["id"], "--json").out)
    return message, chain


def linked(*extra):
    return [contact("c", AT, contact="DANA", email="dana@example.com"),
            {"id": "l", "type": "identity.linked", "at": AT, "contact": "DANA",
             "network": "mastodon", "handle": "@dana", "verified_by": "oauth"}, *extra]


def test_an_approved_private_reply_goes_on_a_private_channel_by_the_rules(world):
    message, chain = held_then_approved(
        world, PRIVATE_REPLY, *linked(consent("g", AT, contact="DANA",
                                              purpose="transactional")))

    assert (message["status"], message["channel"]) == ("sent", "email")
    released = chain["decisions"][-1]
    assert released["rule"] == "private.channel_chosen"
    assert released["facts"]["released_by"] == "ana"
    assert (world.outbox / "email" / f"{message['id']}.eml").exists()
    assert not (world.outbox / "social.jsonl").exists()


def test_an_approved_private_reply_without_consent_is_suppressed_not_made_public(world):
    message, chain = held_then_approved(world, PRIVATE_REPLY, *linked())

    assert (message["status"], message["channel"]) == ("suppressed", None)
    assert chain["decisions"][-1]["rule"] == "transactional.requires_transactional_consent"
    assert not (world.outbox / "social.jsonl").exists()


def test_an_approved_public_reply_stays_public(world):
    message, chain = held_then_approved(world, PUBLIC_MENTION_REPLY)

    assert (message["status"], message["channel"], message["contact"]) == ("sent", "social",
                                                                          None)
    assert chain["decisions"][-1]["rule"] == "public.channel_chosen"
    [post] = [json.loads(line) for line in
              (world.outbox / "social.jsonl").read_text().splitlines()]
    assert (post["id"], post["in_reply_to"]["status_id"]) == (message["id"], "m")
