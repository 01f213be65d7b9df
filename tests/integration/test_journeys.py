"""Journeys on a simulated clock: every step type, versions, re-entry, goals, exits,
broadcasts across DST changes, and determinism."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.journeys_support import JourneyWorld
from tests.support import consent, contact, purchase

SECOND_PURCHASE = """
journey: second-purchase
trigger:
  on: purchase.recorded
  if: "contact.stage == 'light_buyer'"
reentry: 30d
goal: {on: purchase.recorded, within: 21d}
exit_on: [consent.withdrawn, message.unsubscribed]
steps:
  - id: thanks
    send: {intent: relationship, template: thanks}
  - id: pause
    wait: 3d
  - id: check
    branch:
      - if: "contact.purchases_within('30d') >= 2"
        goto: done
      - else: offer
  - id: offer
    send: {intent: relationship, template: offer, audience: segment}
  - id: done
    end: true
"""
D0 = "2026-03-02T10:00:00+00:00"


def day(n: int, hour: int = 10) -> str:
    moment = datetime(2026, 3, 2, hour, tzinfo=UTC) + timedelta(days=n)
    return moment.isoformat()


@pytest.fixture
def world(cli, store_url, tmp_path):
    return JourneyWorld(cli, store_url, tmp_path)


def test_send_wait_branch_end(world):
    world.publish(SECOND_PURCHASE)
    world.ingest(contact("c1", D0), purchase("p1", D0))

    world.run(day(10))

    assert world.sent_steps() == [
        ("C1", "second-purchase", 1, "thanks", D0),
        ("C1", "second-purchase", 1, "offer", day(3)),
    ]
    [ended] = world.events("EnrolmentEnded")
    assert ended["reason"] == "end"
    steps = [(e["step"], e["kind"]) for e in world.events("StepEntered")]
    assert steps == [("thanks", "send"), ("pause", "wait"), ("check", "branch"),
                     ("offer", "send"), ("done", "end")]


def test_the_branch_takes_the_first_arm_that_holds(world):
    world.publish(SECOND_PURCHASE.replace("goal: {on: purchase.recorded, within: 21d}\n", ""))
    world.ingest(contact("c1", D0), purchase("p1", D0), purchase("p2", day(1)))

    world.run(day(10))

    assert [s[3] for s in world.sent_steps()] == ["thanks"]
    [branch] = [e for e in world.events("StepEntered") if e["kind"] == "branch"]
    assert branch["goto"] == "done"


def test_reaching_the_goal_exits_with_reason_goal(world):
    world.publish(SECOND_PURCHASE)
    world.ingest(contact("c1", D0), purchase("p1", D0), purchase("p2", day(1)))

    world.run(day(10))

    assert [s[3] for s in world.sent_steps()] == ["thanks"]
    assert [e["reason"] for e in world.events("EnrolmentEnded")] == ["goal"]


def test_exit_on_ends_a_waiting_contact(world):
    world.publish(SECOND_PURCHASE)
    world.ingest(contact("c1", D0), purchase("p1", D0), consent("w", day(1), granted=False))

    world.run(day(10))

    assert [s[3] for s in world.sent_steps()] == ["thanks"]
    assert [e["reason"] for e in world.events("EnrolmentEnded")] == ["exit:consent.withdrawn"]


REENTRY = """
journey: welcome-back
trigger: {on: consent.granted}
reentry: 30d
steps:
  - id: hello
    send: {intent: relationship, template: thanks}
"""


def test_reentry_waits_for_the_gap_and_without_it_a_contact_enters_once(world):
    world.publish(REENTRY)
    world.publish(REENTRY.replace("welcome-back", "once-only").replace("reentry: 30d\n", ""))
    world.ingest(contact("c1", D0), consent("g1", day(0)), consent("g2", day(10)),
                 consent("g3", day(31)))

    world.run(day(40))

    by_journey = {}
    for _, journey, _, _, at in world.sent_steps():
        by_journey.setdefault(journey, []).append(at)
    assert by_journey == {"welcome-back": [day(0), day(31)], "once-only": [day(0)]}


WAIT_FOR_CLICK = """
journey: nudge
trigger: {on: consent.granted}
steps:
  - id: first
    send: {intent: relationship, template: thanks}
  - id: listen
    wait_until: {on: message.clicked, timeout: 5d}
  - id: second
    send: {intent: relationship, template: offer}
"""


def test_wait_until_resumes_on_its_event_or_its_timeout(world):
    world.publish(WAIT_FOR_CLICK)
    world.ingest(contact("a", D0, contact="A"), consent("ga", D0, contact="A"),
                 contact("b", D0, contact="B"), consent("gb", D0, contact="B"))
    world.run(day(1))
    clicked = next(m["id"] for m in world.messages("A"))
    world.ingest({"id": "click", "type": "message.clicked", "at": day(2), "message": clicked})

    world.run(day(10))

    assert [(m[0], m[3], m[4]) for m in world.sent_steps() if m[3] == "second"] == [
        ("A", "second", day(2)), ("B", "second", day(5))]
    assert next(m for m in world.messages("A") if m["id"] == clicked)["status"] == "clicked"


VERSIONED = """
journey: pinned
trigger: {on: consent.granted}
steps:
  - id: first
    send: {intent: relationship, template: thanks}
  - id: pause
    wait: 5d
  - id: STEP
    send: {intent: relationship, template: offer}
"""


def test_contacts_finish_on_the_version_they_entered_with(world):
    world.publish(VERSIONED.replace("STEP", "old-ending"), "pinned.yaml")
    world.ingest(contact("a", D0, contact="A"), consent("ga", D0, contact="A"))
    world.run(day(1))
    world.publish(VERSIONED.replace("STEP", "new-ending"), "pinned.yaml")
    world.ingest(contact("b", day(2), contact="B"), consent("gb", day(2), contact="B"))

    world.run(day(10))

    assert [(m[0], m[2], m[3]) for m in world.sent_steps() if m[3] != "first"] == [
        ("A", 1, "old-ending"), ("B", 2, "new-ending")]
    listed = json.loads(world.run_cli("journeys", "list", "--json").out)
    assert [(row["version"], row["ended"]) for row in listed] == [(1, 1), (2, 1)]
    at_day_three = json.loads(world.run_cli("audit", "contact", "A", "--as-of", day(3),
                                            "--json").out)
    assert [(j["journey"], j["version"], j["step"], j["status"])
            for j in at_day_three["journeys"]] == [("pinned", 1, "pause", "active")]


STAGE_ENTERED = """
journey: welcome-regulars
trigger: {on: stage.entered, stage: regular_buyer}
steps:
  - id: note
    send: {intent: relationship, template: note}
"""


def test_entering_a_stage_triggers_journeys(world):
    world.publish(STAGE_ENTERED)
    world.ingest(contact("c", D0), purchase("p1", day(0)), purchase("p2", day(1)),
                 purchase("p3", day(2)), purchase("p4", day(3)))

    world.run(day(10))

    assert world.sent_steps() == [("C1", "welcome-regulars", 1, "note", day(2))]


MENTIONS = """
journey: mention-replies
trigger: {on: social.mention, if: "event.stance == 'positive'"}
steps:
  - id: reply
    send: {intent: showcase, template: reply}
"""


def test_a_public_reply_to_a_mention_carries_no_contact(world):
    world.publish(MENTIONS)
    world.ingest(
        {"id": "m1", "type": "social.mention", "at": D0, "network": "mastodon",
         "handle": "@fan", "text": "love it", "stance": "positive"},
        {"id": "m2", "type": "social.mention", "at": day(1), "network": "mastodon",
         "handle": "@grump", "text": "meh", "stance": "negative"})

    world.run(day(2))

    [reply] = world.messages()
    assert (reply["contact"], reply["step"], reply["intent"]) == (None, "reply", "showcase")


def broadcast(cron: str, zone: str) -> str:
    return f"""
journey: spotlight
trigger: {{schedule: "{cron}", timezone: {zone}, segment: "contact.stage == 'regular_buyer'"}}
steps:
  - id: post
    send: {{intent: activation, template: spot}}
  - id: regulars
    send: {{intent: relationship, template: note}}
"""


def test_broadcasts_fire_at_local_time_across_the_london_dst_change(world):
    world.publish(broadcast("0 9 * * SUN", "Europe/London"))
    world.ingest(contact("c", "2026-03-20T00:00:00+00:00"))

    world.run("2026-04-06T00:00:00+00:00")

    posts = [m["at"] for m in world.messages() if m["step"] == "post"]
    assert posts == ["2026-03-22T09:00:00+00:00", "2026-03-29T09:00:00+01:00",
                     "2026-04-05T09:00:00+01:00"]


def test_broadcasts_fire_at_local_time_across_new_york_dst_changes(world):
    world.publish(broadcast("30 8 * * *", "America/New_York"))
    world.ingest(contact("c", "2026-03-07T00:00:00+00:00"),
                 contact("d", "2026-10-31T00:00:00+00:00", contact="D"))

    world.run("2026-03-09T23:00:00+00:00")
    world.run("2026-11-02T23:00:00+00:00")

    posts = {m["at"] for m in world.messages() if m["step"] == "post"}
    for local in ("2026-03-07T08:30:00-05:00", "2026-03-08T08:30:00-04:00",
                  "2026-03-09T08:30:00-04:00", "2026-10-31T08:30:00-04:00",
                  "2026-11-01T08:30:00-05:00", "2026-11-02T08:30:00-05:00"):
        assert local in posts


def test_a_broadcast_posts_once_and_fans_out_to_its_segment(world):
    world.publish(broadcast("0 9 * * MON", "Europe/London"))
    regulars = [t for n in range(3) for t in (contact(f"r{n}", D0, contact=f"R{n}"),
                *(purchase(f"r{n}p{i}", D0, contact=f"R{n}") for i in range(3)))]
    world.ingest(*regulars, contact("l", D0, contact="LIGHT"), purchase("lp", D0, "LIGHT"))

    world.run("2026-03-10T00:00:00+00:00")  # Monday 9 March 09:00 GMT fires once

    messages = world.messages()
    assert [m["contact"] for m in messages if m["step"] == "post"] == [None]
    assert sorted(m["contact"] for m in messages if m["step"] == "regulars") == ["R0", "R1",
                                                                                 "R2"]


HISTORY = [contact("c1", D0), purchase("p1", D0), contact("c2", day(1), contact="C2"),
           purchase("p2", day(1), contact="C2"), purchase("p3", day(2), contact="C2"),
           consent("g", day(4), contact="C2"), purchase("p4", day(9))]


def test_the_same_history_gives_the_same_messages_in_one_run_or_two(cli, tmp_path):
    worlds = []
    for name in ("one", "two", "again"):
        folder = tmp_path / name
        folder.mkdir()
        world = JourneyWorld(cli, f"sqlite:///{folder / 'store.db'}", folder)
        world.publish(SECOND_PURCHASE, "second.yaml")
        world.publish(REENTRY, "reentry.yaml")
        world.ingest(*HISTORY)
        worlds.append(world)
    worlds[0].run(day(20))
    worlds[1].run(day(2, hour=12))
    worlds[1].run(day(20))
    worlds[2].run(day(20))
    worlds[2].run(day(20))  # running to the same moment twice sends nothing twice

    results = [[(m["id"], m["contact"], m["step"], m["at"]) for m in w.messages()]
               for w in worlds]

    assert results[0] == results[1] == results[2]
    assert len(results[0]) == len({m[0] for m in results[0]}) >= 4
