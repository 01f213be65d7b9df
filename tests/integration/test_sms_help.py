"""An SMS HELP is answered: a reply on SMS with the brand's help text, recorded like any
other message (decided by the policy, sent, explained by audit why)."""

from __future__ import annotations

import json

from tests.conftest import run_cli
from tests.journeys_support import JourneyWorld
from tests.support import contact

PHONE = "+447700900123"
AT = "2026-03-02T10:00:00+00:00"


def inbound(tid, body, at=AT, phone=PHONE):
    return {"id": tid, "type": "sms.inbound", "at": at, "phone": phone, "body": body}


def test_help_is_answered_on_sms_with_the_brands_help_text(store_url, tmp_path):
    def cli(*args):
        return run_cli(*args, environ={"ORCHESTRATOR_BRAND_NAME": "Hopper Coffee"})

    world = JourneyWorld(cli, store_url, tmp_path)
    world.ingest(contact("c", AT, phone=PHONE, timezone="Europe/London"),
                 inbound("h", "help"))
    world.run("2026-03-03T00:00:00+00:00")

    [message] = world.messages()
    assert (message["journey"], message["step"], message["intent"]) == ("system", "sms-help",
                                                                        "service")
    assert (message["contact"], message["channel"], message["status"]) == ("C1", "sms", "sent")
    [line] = [json.loads(x) for x in (world.outbox / "sms.jsonl").read_text().splitlines()]
    assert line["to"] == PHONE
    assert line["body"].startswith("Hopper Coffee:") and "STOP" in line["body"]
    chain = json.loads(world.run_cli("audit", "why", message["id"], "--json").out)
    assert chain["trigger"]["touchpoint_id"] == "h"
    assert chain["decisions"][0]["rule"] == "private.channel_chosen"
    assert chain["decisions"][0]["facts"]["sms.answers_request"] is True


def test_help_from_a_stopped_number_gets_nothing(cli, store_url, tmp_path):
    world = JourneyWorld(cli, store_url, tmp_path)
    world.ingest(contact("c", AT, phone=PHONE, timezone="Europe/London"),
                 inbound("s", "STOP", "2026-03-01T10:00:00+00:00"), inbound("h", "HELP"))
    world.run("2026-03-03T00:00:00+00:00")

    [message] = world.messages()
    assert (message["status"], message["channel"]) == ("suppressed", None)
    assert message["reason"].startswith("suppression.wins")
    assert not (world.outbox / "sms.jsonl").exists()


def test_help_at_night_waits_for_the_sms_window(cli, store_url, tmp_path):
    world = JourneyWorld(cli, store_url, tmp_path)
    world.ingest(contact("c", AT, phone=PHONE, timezone="Europe/London"),
                 inbound("h", "HELP", "2026-03-02T23:30:00+00:00"))
    world.run("2026-03-04T00:00:00+00:00")

    [message] = world.messages()
    chain = json.loads(world.run_cli("audit", "why", message["id"], "--json").out)
    assert [d["status"] for d in chain["decisions"]] == ["deferred", "scheduled"]
    assert message["status"] == "sent"


def test_help_from_an_unknown_number_is_recorded_with_the_reason(cli, store_url, tmp_path):
    world = JourneyWorld(cli, store_url, tmp_path)
    world.ingest(inbound("h", "HELP", phone="+447700900999"))
    world.run("2026-03-03T00:00:00+00:00")

    [message] = world.messages()
    assert (message["contact"], message["status"]) == (None, "suppressed")
    assert message["reason"].startswith("private.requires_recipient")


def test_a_second_run_does_not_answer_twice(cli, store_url, tmp_path):
    world = JourneyWorld(cli, store_url, tmp_path)
    world.ingest(contact("c", AT, phone=PHONE, timezone="Europe/London"), inbound("h", "HELP"))
    world.run("2026-03-03T00:00:00+00:00")
    world.run("2026-03-03T00:00:00+00:00")
    world.run("2026-03-05T00:00:00+00:00")

    assert len(world.messages()) == 1
    assert len((world.outbox / "sms.jsonl").read_text().splitlines()) == 1
