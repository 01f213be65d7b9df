"""What the composition root wires, seen through the command line: the channels in
force reach the policy, a public template that reads contact data is stopped by the
policy's own rule, and bad settings are refused before anything runs."""

from __future__ import annotations

import pytest
from tests.conftest import run_cli
from tests.journeys_support import PUBLIC_MENTION_REPLY, THANKS_ON_PURCHASE, JourneyWorld
from tests.support import consent, contact, purchase

from orchestrator.channels.memory import memory_channels

AT = "2026-03-02T10:00:00+00:00"
SENDGRID_KEY = "SG.fake-secret-key-0123456789"


def test_only_the_configured_live_channels_are_considered(store_url, tmp_path):
    """With --channels live and only email configured, a contact who consented to SMS
    only is not sent an SMS: the policy never considers a channel that is not live."""
    twins = memory_channels()
    environ = {"SENDGRID_API_KEY": SENDGRID_KEY, "ORCHESTRATOR_EMAIL_FROM": "shop@example.com"}

    def cli(*args):
        return run_cli(*args, environ=environ, channels=lambda settings, stamp: twins)

    world = JourneyWorld(cli, store_url, tmp_path)
    world.publish(THANKS_ON_PURCHASE)
    world.ingest(contact("e", AT, contact="EMAIL", email="e@example.com"),
                 consent("ge", AT, contact="EMAIL"), purchase("pe", AT, contact="EMAIL"),
                 contact("s", AT, contact="SMS", phone="+447700900123",
                         timezone="Europe/London"),
                 consent("gs", AT, contact="SMS", channel="sms"),
                 purchase("ps", AT, contact="SMS"))

    result = world.run_cli("run", "--channels", "live", "--until", "2026-03-03T00:00:00+00:00")

    assert result.code == 0, result.err
    assert "live channels: email" in result.out
    assert SENDGRID_KEY not in result.out + result.err
    by_contact = {m["contact"]: m for m in world.messages()}
    assert (by_contact["EMAIL"]["status"], by_contact["EMAIL"]["channel"]) == ("sent", "email")
    assert by_contact["SMS"]["status"] == "suppressed"
    assert [m.message_id for m in twins["email"].sent] == [by_contact["EMAIL"]["id"]]
    assert twins["sms"].sent == []


def test_live_channels_without_any_configured_provider_is_refused(cli, sqlite_url):
    result = cli("--store", sqlite_url, "run", "--channels", "live", "--until",
                 "2026-03-03T00:00:00+00:00")

    assert result.code == 2
    assert "live" in result.err


def test_a_public_template_edited_to_read_contact_data_after_publishing_changes_nothing(
        cli, store_url, tmp_path):
    """The version pins the reply checked at publish; a later edit that reads contact data
    is not in force, so the public post carries the pinned text and nobody's name."""
    world = JourneyWorld(cli, store_url, tmp_path)
    world.publish(PUBLIC_MENTION_REPLY)
    (world.templates / "reply" / "social.txt").write_text(
        "Thank you {{ contact.first_name }}!")
    world.ingest({"id": "m", "type": "social.mention", "at": AT, "network": "mastodon",
                  "handle": "@fan", "text": "love it", "stance": "positive"})
    world.run("2026-03-03T00:00:00+00:00")

    [message] = world.messages()
    assert (message["status"], message["channel"]) == ("sent", "social")
    posted = (world.outbox / "social.jsonl").read_text()
    assert "Thank you for the kind words!" in posted and "contact" not in posted


@pytest.mark.parametrize(("variable", "value", "secret"), [
    ("ORCHESTRATOR_PUBLIC_URL", "http://messages.example.com", False),
    ("ORCHESTRATOR_STAGE_THRESHOLDS", "light=x", False),
    ("ORCHESTRATOR_SIGNING_KEY", "not-a-key-S3CRET", True),
    ("ORCHESTRATOR_CHECKPOINT_PUBLIC_KEY", "zz", False),
    ("ORCHESTRATOR_LINK_SECRET", "tiny-S3CRET", True),
])
def test_a_bad_setting_is_refused_before_anything_runs(sqlite_url, tmp_path, variable,
                                                       value, secret):
    data = tmp_path / "t.jsonl"
    data.write_text('{"id": "c", "type": "contact.upserted", "at": "2026-03-02T10:00:00+00:00",'
                    ' "contact": "C1", "kind": "customer"}\n')

    result = run_cli("--store", sqlite_url, "ingest", str(data), environ={variable: value})

    assert result.code == 2
    assert variable in result.err
    if secret:
        assert value not in result.out + result.err
    assert not (tmp_path / "store.db").exists()  # nothing ran, not even opening the store
