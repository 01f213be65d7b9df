"""``journeys pause|resume|archive`` end to end through the CLI, on a simulated clock."""

from __future__ import annotations

import json

import pytest
from tests.integration.test_journeys import D0, SECOND_PURCHASE, day
from tests.journeys_support import JourneyWorld
from tests.support import consent, contact, purchase


@pytest.fixture
def world(cli, store_url, tmp_path):
    return JourneyWorld(cli, store_url, tmp_path)


def steps(world):
    return [(m["contact"], m["step"], m["at"]) for m in world.messages()]


def test_pause_holds_due_steps_and_enrols_no_one_then_resume_goes_on(world):
    world.publish(SECOND_PURCHASE)
    world.ingest(contact("c1", D0), purchase("p1", D0))
    world.run(day(1))
    assert steps(world) == [("C1", "thanks", D0)]

    paused = world.run_cli("journeys", "pause", "second-purchase", "--actor", "ana",
                           "--note", "fixing the offer")
    assert paused.code == 0, paused.err
    world.ingest(contact("c2", day(2), "C2"), purchase("p2", day(2), "C2"))
    world.run(day(10))  # past c1's 3-day wait: held; c2's purchase: not enrolled
    assert steps(world) == [("C1", "thanks", D0)]
    assert [e["contact"] for e in world.events("ContactEnrolled")] == ["C1"]
    assert "paused" in world.run_cli("journeys", "list").out

    assert world.run_cli("journeys", "resume", "second-purchase").code == 0
    world.run(day(12))
    # c1's held wait goes on at resume (where the clock stood); c2 was never enrolled.
    assert steps(world) == [("C1", "thanks", D0), ("C1", "offer", day(10))]
    [resumed] = world.events("JourneyResumed")
    [paused_event] = world.events("JourneyPaused")
    assert (paused_event["actor"], paused_event["note"]) == ("ana", "fixing the offer")
    assert resumed["note"] is None and resumed["actor"]


def test_archive_ends_enrolments_and_takes_no_new_ones(world):
    world.publish(SECOND_PURCHASE)
    world.ingest(contact("c1", D0), purchase("p1", D0))
    world.run(day(1))
    assert world.run_cli("journeys", "archive", "second-purchase", "--note", "old").code == 0
    world.ingest(contact("c2", day(2), "C2"), purchase("p2", day(2), "C2"))
    world.run(day(10))

    assert steps(world) == [("C1", "thanks", D0)]
    ended = world.events("EnrolmentEnded")
    assert [(e["reason"], e["at"]) for e in ended] == [("archived", day(1))]
    assert len(world.events("ContactEnrolled")) == 1
    journeys = json.loads(world.run_cli("journeys", "list", "--json").out)
    assert [j["state"] for j in journeys] == ["archived"]
    audit = json.loads(world.run_cli("audit", "contact", "C1", "--as-of", day(5),
                                     "--json").out)
    assert "archived" in json.dumps(audit["journeys"])


def test_archive_is_final(world, tmp_path):
    world.publish(SECOND_PURCHASE, name="sp.yaml")
    assert world.run_cli("journeys", "archive", "second-purchase").code == 0
    for args in (("journeys", "resume", "second-purchase"),
                 ("journeys", "pause", "second-purchase"),
                 ("journeys", "archive", "second-purchase")):
        refused = world.run_cli(*args)
        assert refused.code == 2 and "archived" in refused.err
    (tmp_path / "sp.yaml").write_text(SECOND_PURCHASE + "description: again\n")
    again = world.run_cli("journeys", "publish", str(tmp_path / "sp.yaml"))
    assert again.code == 2 and "archived" in again.err
    assert len(world.events("JourneyPublished")) == 1


def test_unknown_journey_and_resume_of_an_active_one_are_refused(world):
    unknown = world.run_cli("journeys", "pause", "nope")
    assert unknown.code == 2 and "no journey 'nope'" in unknown.err
    world.publish(SECOND_PURCHASE)
    active = world.run_cli("journeys", "resume", "second-purchase")
    assert active.code == 2 and "not paused" in active.err
    assert world.events("JourneyResumed") == []


def test_journeys_show_prints_the_version_in_force_with_counts(world):
    world.publish(SECOND_PURCHASE)
    world.ingest(contact("c1", D0), purchase("p1", D0),
                 contact("c2", D0, "C2"), purchase("p2", day(5), "C2"))
    world.run(day(4))
    shown = world.run_cli("journeys", "show", "second-purchase", "--json")
    assert shown.code == 0, shown.err
    data = json.loads(shown.out)
    assert (data["version"], data["state"]) == (1, "active")
    assert data["source"].strip() == SECOND_PURCHASE.strip()
    assert data["templates"] == {"offer": ["email.subject.txt", "email.txt"],
                                 "thanks": ["email.subject.txt", "email.txt", "sms.txt"]}
    # What the version renders is what was pinned: a file added since is not listed.
    (world.templates / "offer" / "sms.txt").write_text("Later, {{ contact.id }}\n")
    again = json.loads(world.run_cli("journeys", "show", "second-purchase", "--json").out)
    assert again["templates"] == data["templates"]
    by_step = {s["id"]: s for s in data["steps"]}
    assert by_step["thanks"] == {"id": "thanks", "kind": "send", "at_now": 0, "entered": 1,
                                 "messages": {"suppressed": 1}}
    assert (by_step["pause"]["at_now"], by_step["pause"]["entered"]) == (0, 1)
    assert by_step["offer"]["messages"] == {"suppressed": 1}
    assert by_step["check"]["kind"] == "branch"
    text = world.run_cli("journeys", "show", "second-purchase").out
    assert "second-purchase version 1 of 1, active" in text
    assert "thanks: email.subject.txt, email.txt, sms.txt" in text
    assert "journey: second-purchase" in text  # the recorded definition


def test_journeys_show_counts_contacts_waiting_and_refuses_unknown(world):
    world.publish(SECOND_PURCHASE)
    world.ingest(contact("c1", D0), purchase("p1", D0))
    world.run(day(1))
    data = json.loads(world.run_cli("journeys", "show", "second-purchase", "--json").out)
    assert {s["id"]: s["at_now"] for s in data["steps"]}["pause"] == 1
    missing = world.run_cli("journeys", "show", "second-purchase", "--version", "2")
    assert missing.code == 2 and "no version 2" in missing.err
    assert world.run_cli("journeys", "show", "nope").code == 2


def test_messages_filters_each_narrow_and_bad_values_are_refused(world):
    world.publish(SECOND_PURCHASE)
    world.ingest(contact("c1", D0, email="c1@example.com"), purchase("p1", D0),
                 consent("g1", D0),
                 contact("c2", D0, "C2"), purchase("p2", day(1), "C2"))
    world.run(day(10))
    everything = world.messages()
    assert len(everything) == 4

    def ids(*args):
        result = world.run_cli("messages", "--json", *args)
        assert result.code == 0, result.err
        return [m["id"] for m in json.loads(result.out)]

    every = [m["id"] for m in everything]
    sent = [m["id"] for m in everything if m["status"] != "suppressed"]
    assert sent and len(sent) < len(every)
    assert ids("--status", "suppressed") == [i for i in every if i not in sent]
    assert ids("--channel", "email") == sent
    assert ids("--journey", "second-purchase") == every
    assert ids("--journey", "other") == []
    assert ids("--since", day(1)) == [m["id"] for m in everything if m["at"] >= day(1)]
    assert ids("--until", day(1)) == [m["id"] for m in everything if m["at"] <= day(1)]
    assert ids("--since", day(1), "--until", day(3)) == [
        m["id"] for m in everything if day(1) <= m["at"] <= day(3)]
    for option, value in (("--status", "lost"), ("--channel", "fax"),
                          ("--since", "yesterday"), ("--until", "2026-03-01T00:00:00")):
        refused = world.run_cli("messages", option, value)
        assert refused.code == 2 and option in refused.err
    text = world.run_cli("messages").out
    assert text.splitlines()[0].startswith("at ") and D0 in text


def test_run_and_messages_give_plain_words_beside_the_rule_id(world):
    world.publish(SECOND_PURCHASE)
    world.ingest(contact("c1", D0), purchase("p1", D0))
    out = world.run(day(1))
    assert "relationship.requires_marketing_consent" in out
    assert "no consent to marketing on a private channel" in out
    text = world.run_cli("messages").out
    assert ("relationship.requires_marketing_consent (no consent to marketing on a private "
            "channel): ") in text
    [row] = world.messages()
    assert row["reason"].startswith("relationship.requires_marketing_consent: ")


SMS_ON_PURCHASE = """
journey: sms-thanks
trigger: {on: purchase.recorded}
steps:
  - id: hello
    send: {intent: relationship, template: thanks}
"""


def test_a_message_chosen_before_a_pause_is_not_sent_until_resume(world):
    """A message the policy deferred (an SMS at night waits for the morning) and chose
    again while the journey is paused stays chosen and unsent: a paused journey sends
    nothing. After resume it goes out."""
    night = "2026-03-02T23:30:00+00:00"
    world.publish(SMS_ON_PURCHASE)
    world.ingest(contact("c1", night, phone="+447700900123", timezone="Europe/London"),
                 consent("g1", night, channel="sms"), purchase("p1", night))
    world.run("2026-03-02T23:45:00+00:00")
    [message] = world.messages()
    assert message["status"] == "deferred", message

    assert world.run_cli("journeys", "pause", "sms-thanks").code == 0
    out = world.run("2026-03-03T12:00:00+00:00")  # past the morning: chosen, held
    [message] = world.messages()
    assert message["status"] != "sent", (message, out)
    assert "1 held: journey paused or archived" in out
    assert not (world.outbox / "sms").exists() or not list((world.outbox / "sms").iterdir())

    assert world.run_cli("journeys", "resume", "sms-thanks").code == 0
    world.run("2026-03-03T13:00:00+00:00")
    [message] = world.messages()
    assert message["status"] == "sent", message
