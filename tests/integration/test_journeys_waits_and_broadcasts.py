"""How a wait ended (``wait.outcome`` / ``wait.event``) and broadcasts at every firing,
end to end through the CLI on a simulated clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from tests.journeys_support import JourneyWorld
from tests.support import consent, contact

D0 = "2026-03-02T10:00:00+00:00"  # a Monday

WIN_BACK = """
journey: win-back
trigger: {on: consent.granted, if: "event.channel == 'email'"}
steps:
  - id: miss-you
    send: {intent: relationship, template: thanks}
  - id: wait-click
    wait_until: {on: message.clicked, timeout: 5d}
  - id: clicked
    branch:
      - if: "wait.outcome == 'event'"
        goto: done
      - else: nudge
  - id: nudge
    send: {intent: relationship, template: nudge}
  - id: done
    end: true
"""
NEWSLETTER = """
journey: newsletter
trigger: {on: contact.upserted}
steps:
  - id: issue
    send: {intent: relationship, template: thanks}
"""


def at(base: str, **delta) -> str:
    return (datetime.fromisoformat(base) + timedelta(**delta)).isoformat()


@pytest.fixture
def world(cli, store_url, tmp_path):
    world = JourneyWorld(cli, store_url, tmp_path)
    (world.templates / "nudge").mkdir()
    (world.templates / "nudge" / "sms.txt").write_text("We miss you.")
    return world


def customer(key: str, when: str) -> list[dict]:
    phone = {"A": "+447700900001", "B": "+447700900002", "C": "+447700900003"}[key]
    return [contact(f"{key}-c", when, contact=key, email=f"{key.lower()}@example.org",
                    phone=phone, timezone="Europe/London"),
            consent(f"{key}-s", when, contact=key, channel="sms")]


def steps_of(world, key: str) -> list[tuple[str, str, str]]:
    return [(m["journey"], m["step"], m["at"]) for m in world.messages(key)]


def test_a_click_on_the_journeys_own_message_means_no_nudge(world):
    world.publish(WIN_BACK)
    world.ingest(*customer("A", D0), consent("A-e", at(D0, minutes=1), contact="A"))
    world.run(at(D0, minutes=1, seconds=30))
    sent = next(m["id"] for m in world.messages("A") if m["step"] == "miss-you")
    world.ingest({"id": "A-click", "type": "message.clicked", "at": at(D0, minutes=2),
                  "message": sent})

    world.run(at(D0, days=10))

    assert [s[1] for s in steps_of(world, "A")] == ["miss-you"]
    why = json.loads(world.run_cli("audit", "why", sent, "--json").out)
    assert why["enrolment"]["waits"] == [{
        "step": "wait-click", "outcome": "event", "touchpoint": "A-click",
        "touchpoint_type": "message.clicked", "at": at(D0, minutes=2)}]
    assert [p["goto"] for p in why["enrolment"]["path"] if p["step"] == "clicked"] == ["done"]


def test_no_click_means_the_nudge_after_the_timeout(world):
    world.publish(WIN_BACK)
    world.ingest(*customer("B", D0), consent("B-e", at(D0, minutes=1), contact="B"))

    world.run(at(D0, days=10))

    assert steps_of(world, "B") == [
        ("win-back", "miss-you", at(D0, minutes=1)), ("win-back", "nudge", at(D0, days=5,
                                                                              minutes=1))]
    nudge = next(m for m in world.messages("B") if m["step"] == "nudge")
    assert nudge["status"] in ("scheduled", "sent") and nudge["channel"] == "sms"
    why = json.loads(world.run_cli("audit", "why", nudge["id"], "--json").out)
    assert [w["outcome"] for w in why["enrolment"]["waits"]] == ["timeout"]


def test_a_click_on_another_journeys_message_does_not_end_the_wait(world):
    world.publish(NEWSLETTER)
    world.publish(WIN_BACK)
    world.ingest(*customer("C", D0))
    world.run(at(D0, hours=1))
    newsletter = next(m["id"] for m in world.messages("C") if m["journey"] == "newsletter")
    world.ingest(consent("C-e", at(D0, hours=2), contact="C"),
                 {"id": "C-click", "type": "message.clicked", "at": at(D0, hours=3),
                  "message": newsletter})

    world.run(at(D0, days=10))

    assert [s[1] for s in steps_of(world, "C") if s[0] == "win-back"] == ["miss-you", "nudge"]


def test_a_run_continued_later_branches_as_one_run_straight_through(cli, tmp_path):
    results = []
    for name, stops in (("one", []), ("split", [at(D0, minutes=1, seconds=30),
                                                at(D0, days=3), at(D0, days=5, minutes=1)])):
        folder = tmp_path / name
        folder.mkdir()
        world = JourneyWorld(cli, f"sqlite:///{folder / 'store.db'}", folder)
        (world.templates / "nudge").mkdir()
        (world.templates / "nudge" / "sms.txt").write_text("We miss you.")
        world.publish(WIN_BACK, "win-back.yaml")
        world.ingest(*customer("A", D0), *customer("B", D0),
                     consent("A-e", at(D0, minutes=1), contact="A"),
                     consent("B-e", at(D0, minutes=1), contact="B"))
        world.run(at(D0, minutes=1))
        sent = next(m["id"] for m in world.messages("A"))
        world.ingest({"id": "A-click", "type": "message.clicked", "at": at(D0, minutes=2),
                      "message": sent})
        for stop in stops:
            world.run(stop)
        world.run(at(D0, days=10))
        results.append([(m["id"], m["contact"], m["step"], m["at"]) for m in world.messages()])
    assert results[0] == results[1]
    assert sorted((m[1], m[2]) for m in results[0]) == [("A", "miss-you"), ("B", "miss-you"),
                                                        ("B", "nudge")]


def test_wait_is_refused_where_a_path_has_no_wait_until(world):
    path = world.folder / "bad.yaml"
    path.write_text(WIN_BACK.replace("""  - id: wait-click
    wait_until: {on: message.clicked, timeout: 5d}
""", """  - id: early
    branch:
      - if: "contact.stage == 'regular_buyer'"
        goto: clicked
      - else: wait-click
  - id: wait-click
    wait_until: {on: message.clicked, timeout: 5d}
"""))

    result = world.run_cli("journeys", "validate", str(path))

    assert result.code == 2
    assert f"{path}:16:13: if: `wait` is only known after a wait_until step; step 'clicked' " \
           "can be reached without one (trigger -> miss-you -> early -> clicked)" in result.err


def test_wait_in_a_trigger_condition_is_refused(world):
    path = world.folder / "bad.yaml"
    path.write_text(WIN_BACK.replace("event.channel == 'email'", "wait.outcome == 'event'"))

    result = world.run_cli("journeys", "validate", str(path))

    assert result.code == 2
    assert f"{path}:3:36: the trigger's if: `wait` is only known after a wait_until step" \
        in result.err


WEEKLY = """
journey: weekly
trigger: {schedule: "0 9 * * MON", timezone: Europe/London,
          segment: "contact.stage == 'regular_buyer'"}
REENTRY
steps:
  - id: note
    send: {intent: relationship, template: note}
"""
MONDAYS = ["2026-03-02T09:00:00+00:00", "2026-03-09T09:00:00+00:00",
           "2026-03-16T09:00:00+00:00", "2026-03-23T09:00:00+00:00",
           "2026-03-30T09:00:00+01:00"]


def regulars(*keys: str) -> list[dict]:
    when = "2026-03-01T00:00:00+00:00"
    out = []
    for key in keys:
        out += [contact(f"{key}-c", when, contact=key, email=f"{key.lower()}@example.org"),
                consent(f"{key}-e", when, contact=key)]
        out += [{"id": f"{key}-p{i}", "type": "purchase.recorded", "at": when,
                 "contact": key, "amount": 10, "currency": "EUR"} for i in range(3)]
    return out


def test_each_regular_gets_the_note_every_monday(world):
    world.publish(WEEKLY.replace("REENTRY\n", ""))
    world.ingest(*regulars("R1", "R2"))

    world.run("2026-04-01T00:00:00+00:00")

    for key in ("R1", "R2"):
        notes = [m for m in world.messages(key) if m["step"] == "note"]
        assert [m["at"] for m in notes] == MONDAYS
        assert {m["status"] for m in notes} <= {"scheduled", "sent"}


def test_reentry_on_a_broadcast_is_the_least_gap_between_its_notes(world):
    world.publish(WEEKLY.replace("REENTRY", "reentry: 14d"))
    world.ingest(*regulars("R1"))

    world.run("2026-04-01T00:00:00+00:00")

    assert [m["at"] for m in world.messages("R1")] == MONDAYS[::2]


def test_frequency_caps_still_limit_a_broadcast(world):
    world.publish(WEEKLY.replace("REENTRY\n", ""), "weekly.yaml")
    world.publish(WEEKLY.replace("REENTRY\n", "").replace("journey: weekly",
                                                          "journey: weekly-too")
                  .replace("0 9 * * MON", "0 10 * * MON"), "weekly-too.yaml")
    world.ingest(*regulars("R1"))

    world.run("2026-03-02T12:00:00+00:00")

    messages = {m["journey"]: m for m in world.messages("R1")}
    assert messages["weekly"]["status"] in ("scheduled", "sent")
    assert messages["weekly-too"]["status"] == "deferred"


def test_wait_is_known_after_a_wait_until_on_every_path_even_past_a_plain_wait(world):
    path = world.folder / "good.yaml"
    path.write_text(WIN_BACK.replace("""  - id: clicked
""", """  - id: breathe
    wait: 1d
  - id: clicked
"""))

    result = world.run_cli("journeys", "validate", str(path))

    assert result.code == 0, result.err
