"""``orchestrator simulate``: a what-if that counts what a real run would, and changes nothing.

The key check: simulating a candidate over a window gives the same counts (per channel,
status and reason, enrolments and goals) as publishing it on a copy of the store and
running it for real, on the demo's data and on a scenario with waits, caps, quiet hours
and a review hold; and the original store's bytes and chain are the same afterwards.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from tests.journeys_support import PUBLIC_MENTION_REPLY, THANKS_ON_PURCHASE, JourneyWorld
from tests.support import consent, contact, purchase, write_jsonl

from orchestrator.demo.population import DEMO_NOW, generate

REPOSITORY = Path(__file__).resolve().parents[2]
KEPT_BACK = {"suppressed", "deferred", "held_for_review"}


# --- helpers -----------------------------------------------------------------------------

def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def copy_store(url: str, to: Path) -> str:
    """A byte copy of a SQLite store (the database and its WAL, when there is one)."""
    source = sqlite_path(url)
    shutil.copyfile(source, to)
    for suffix in ("-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{to}{suffix}")
    return f"sqlite:///{to}"


def fingerprint(url: str) -> dict[str, str]:
    """sha256 of the database file and of its WAL (absent and empty read the same)."""
    path = sqlite_path(url)
    wal = Path(f"{path}-wal")
    return {"db": hashlib.sha256(path.read_bytes()).hexdigest(),
            "wal": hashlib.sha256(wal.read_bytes() if wal.exists() else b"").hexdigest()}


class CliStore:
    """One store driven through the command line, with its templates folder."""

    def __init__(self, cli, url: str, templates: Path, folder: Path):
        self.cli, self.url, self.templates, self.folder = cli, url, templates, folder

    def __call__(self, *args: str):
        return self.cli("--store", self.url, "--templates", str(self.templates), *args)

    def ok(self, *args: str):
        result = self(*args)
        assert result.code == 0, (args, result.out, result.err)
        return result

    def run(self, until: str) -> None:
        result = self("run", "--until", until, "--outbox", str(self.folder / "outbox"))
        assert result.code in (0, 1), result.err  # 1: some message failed (reported)

    def simulate(self, candidate: Path, start: str, end: str) -> dict:
        result = self.ok("simulate", str(candidate), "--from", start, "--to", end, "--json")
        return json.loads(result.out)

    def really(self, journey: str) -> dict:
        """What the store holds for ``journey``, counted as a simulation counts it."""
        rows = json.loads(self.ok("messages", "--journey", journey, "--json").out)
        listing = [row for row in json.loads(self.ok("journeys", "list", "--json").out)
                   if row["journey"] == journey]
        lines = [json.loads(line) for line in self.ok("audit", "export").out.splitlines()]
        enrolments = {line["enrolment"] for line in lines
                      if line["type"] == "ContactEnrolled" and line["journey"] == journey}
        return {
            "journey": journey,
            "version": max(row["version"] for row in listing),
            "enrolled": sum(row["active"] + row["ended"] for row in listing),
            "messages": len(rows),
            "by_channel": dict(sorted(Counter(r["channel"] for r in rows
                                              if r["channel"]).items())),
            "by_status": dict(sorted(Counter(r["status"] for r in rows).items())),
            "by_reason": dict(sorted(Counter(r["reason"].partition(": ")[0] for r in rows
                                             if r["status"] in KEPT_BACK).items())),
            "goals": sum(1 for line in lines if line["type"] == "EnrolmentEnded"
                         and line["enrolment"] in enrolments and line["reason"] == "goal"),
        }

    def copy(self, name: str) -> CliStore:
        folder = self.folder / name
        folder.mkdir()
        return CliStore(self.cli, copy_store(self.url, folder / "store.db"), self.templates,
                     folder)


def verify_line(store: CliStore) -> str:
    result = store("audit", "verify")
    assert result.code == 0, result.out
    return result.out.split(" (")[0]  # without the timing


def assert_simulation_equals_a_real_run(store: CliStore, candidate: Path, start: str,
                                        end: str, journey: str) -> dict:
    """Simulate on ``store``; publish and run on a copy; the same counts. Also the version
    in force (a second copy, run as it is). The store itself is left as it was."""
    before, chain = fingerprint(store.url), verify_line(store)
    simulated = store.simulate(candidate, start, end)
    assert fingerprint(store.url) == before
    assert verify_line(store) == chain

    published = store.copy("published")
    published.ok("journeys", "publish", str(candidate))
    published.run(end)
    assert simulated["candidate"] == published.really(journey)
    as_it_is = store.copy("as-it-is")
    if simulated["in_force"] is not None:
        as_it_is.run(end)
        assert simulated["in_force"] == as_it_is.really(journey)
    return simulated


# --- the demo's data -----------------------------------------------------------------------

DEMO_CANDIDATE = (REPOSITORY / "examples" / "journeys" / "second-purchase.yaml").read_text(
).replace("  - id: done\n", "  - id: nudge\n    send: {intent: relationship, template: "
          "nudge}\n  - id: done\n")


@pytest.fixture
def demo(cli, tmp_path) -> tuple[CliStore, str]:
    """The demo's population (few contacts), ingested; returns the store and the first
    touchpoint's moment."""
    buffer = io.StringIO()
    generate(buffer, contacts=60, seed=11)
    touchpoints = tmp_path / "population.jsonl"
    touchpoints.write_text(buffer.getvalue())
    store = CliStore(cli, f"sqlite:///{tmp_path / 'store.db'}", REPOSITORY / "templates",
                  tmp_path)
    store.ok("ingest", str(touchpoints))
    first = json.loads(buffer.getvalue().splitlines()[0])["at"]
    return store, first


def example_journeys() -> list[str]:
    return sorted(str(p) for p in (REPOSITORY / "examples" / "journeys").glob("*.yaml"))


def test_on_the_demos_data_from_its_start_simulate_counts_what_a_run_does(demo, tmp_path):
    store, first = demo
    store.ok("journeys", "publish", *example_journeys())
    candidate = tmp_path / "second-purchase.yaml"
    candidate.write_text(DEMO_CANDIDATE)

    simulated = assert_simulation_equals_a_real_run(
        store, candidate, first, DEMO_NOW.isoformat(), "second-purchase")

    # The added step is an SMS-capable nudge: the difference shows per channel.
    mine, theirs = simulated["candidate"], simulated["in_force"]
    assert (mine["version"], theirs["version"]) == (2, 1)
    assert mine["messages"] > theirs["messages"]
    assert mine["by_channel"] != theirs["by_channel"]


def test_a_candidate_that_a_rule_suppresses_shows_the_difference_per_reason(demo, tmp_path):
    store, first = demo
    store.ok("journeys", "publish", *example_journeys())
    candidate = tmp_path / "mention-replies.yaml"
    candidate.write_text((REPOSITORY / "examples" / "journeys" / "mention-replies.yaml")
                         .read_text().replace("audience: public", "audience: segment"))

    simulated = assert_simulation_equals_a_real_run(
        store, candidate, first, DEMO_NOW.isoformat(), "mention-replies")

    mine, theirs = simulated["candidate"], simulated["in_force"]
    assert theirs["by_status"].get("sent", 0) > 0
    assert mine["by_reason"].get("public.segment_never_public") == theirs["by_status"]["sent"]
    assert "public.segment_never_public" not in theirs["by_reason"]
    assert mine["by_channel"].get("social", 0) == 0


def test_on_the_demos_data_after_a_catch_up_a_new_journey_counts_what_a_run_does(
        demo, tmp_path):
    store, _ = demo
    start = "2026-10-02T00:00:30+00:00"  # no touchpoint or cron firing at this moment
    store.run(start)  # the history caught up, then the journeys go live (as the demo does)
    store.ok("journeys", "publish", *example_journeys())
    candidate = tmp_path / "second-purchase-sms.yaml"
    candidate.write_text(DEMO_CANDIDATE.replace("journey: second-purchase",
                                                "journey: second-purchase-sms"))

    simulated = assert_simulation_equals_a_real_run(
        store, candidate, start, DEMO_NOW.isoformat(), "second-purchase-sms")

    assert simulated["in_force"] is None
    assert simulated["candidate"]["version"] == 1
    assert simulated["candidate"]["messages"] > 0


# --- waits, caps, quiet hours and a review hold ---------------------------------------------

LONDON = {"timezone": "Europe/London"}
PEOPLE = [
    contact("c1", "2026-03-01T09:00:00+00:00", "C1", email="c1@example.com",
            phone="+447700900001", **LONDON),
    consent("k1", "2026-03-01T09:00:00+00:00", "C1", "email"),
    consent("k1s", "2026-03-01T09:00:00+00:00", "C1", "sms"),
    contact("c2", "2026-03-01T09:00:00+00:00", "C2", phone="+447700900002", **LONDON),
    consent("k2", "2026-03-01T09:00:00+00:00", "C2", "sms"),
    contact("c3", "2026-03-01T09:00:00+00:00", "C3", email="c3@example.com"),
    contact("c4", "2026-03-01T09:00:00+00:00", "C4", kind="press", email="c4@example.com"),
    consent("k4", "2026-03-01T09:00:00+00:00", "C4", "email"),
]
BEFORE = [  # before the second case's window (2026-03-10T12:00:30)
    purchase("p1", "2026-03-02T10:00:00+00:00", "C1"),
    purchase("p2", "2026-03-10T10:00:00+00:00", "C1"),  # sent just before the window: caps
    purchase("p3", "2026-03-03T12:00:00+00:00", "C3"),
]
WINDOW = [
    purchase("p4", "2026-03-10T13:00:00+00:00", "C1"),
    purchase("p5", "2026-03-10T22:30:00+00:00", "C2"),  # SMS at night: quiet hours
    purchase("p6", "2026-03-11T12:00:00+00:00", "C4"),
    purchase("p7", "2026-03-12T09:00:00+00:00", "C1"),
    purchase("p8", "2026-03-12T10:00:00+00:00", "C1"),
    purchase("p9", "2026-03-14T23:00:00+00:00", "C2"),  # deferred past the window's end
    {"id": "m1", "type": "social.mention", "at": "2026-03-11T10:00:00+00:00",
     "network": "mastodon", "handle": "@fan", "text": "lovely shop", "stance": "positive"},
    {"id": "m2", "type": "social.mention", "at": "2026-03-11T11:00:00+00:00",
     "network": "mastodon", "handle": "@troll", "text": "a disgrace", "stance": "hostile"},
    {"id": "m3", "type": "social.mention", "at": "2026-03-12T11:00:00+00:00",
     "network": "mastodon", "handle": "@paper", "text": "we hear", "author_kind": "press"},
]
END = "2026-03-15T06:00:00+00:00"
SECOND_START = "2026-03-10T12:00:30+00:00"

WAITS_AND_CAPS = """
journey: after-purchase
trigger: {on: purchase.recorded}
reentry: 1h
goal: {on: purchase.recorded, within: 5d}
steps:
  - id: hello
    send: {intent: relationship, template: thanks}
  - id: pause
    wait: 2h
  - id: again
    send: {intent: relationship, template: thanks}
  - id: later
    wait: 1d
  - id: offer
    send: {intent: relationship, template: offer}
"""
REPLIES_V2 = PUBLIC_MENTION_REPLY.replace("journey: replies",
                                          "journey: replies\ndescription: thank in public")
NEW_JOURNEY = WAITS_AND_CAPS.replace("journey: after-purchase", "journey: follow-up")


@pytest.fixture
def scenario(cli, tmp_path) -> CliStore:
    world = JourneyWorld(cli, f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    store = CliStore(cli, world.url, world.templates, tmp_path)
    store.ok("ingest", str(write_jsonl(tmp_path / "people.jsonl", *PEOPLE, *BEFORE,
                                       *WINDOW)))
    world.publish(THANKS_ON_PURCHASE)
    world.publish(PUBLIC_MENTION_REPLY)
    return store


@pytest.mark.parametrize(("text", "journey"), [(WAITS_AND_CAPS, "after-purchase"),
                                               (REPLIES_V2, "replies")],
                         ids=["waits-caps-quiet-hours", "review-hold"])
def test_waits_caps_quiet_hours_and_holds_count_what_a_run_does(scenario, tmp_path, text,
                                                                journey):
    candidate = tmp_path / f"{journey}.yaml"
    candidate.write_text(text)

    simulated = assert_simulation_equals_a_real_run(
        scenario, candidate, PEOPLE[0]["at"], END, journey)

    mine = simulated["candidate"]
    if journey == "replies":
        assert mine["by_status"].get("held_for_review") == 2
        assert mine["by_reason"] == {"mention.held_for_review": 2}
    else:
        assert "sms.quiet_hours" in mine["by_reason"]
        assert any(rule.startswith("cap.") for rule in mine["by_reason"])
        assert mine["goals"] >= 1
        # The added steps show against the version in force, per channel and reason.
        theirs = simulated["in_force"]
        assert mine["messages"] > theirs["messages"]
        assert mine["by_reason"] != theirs["by_reason"]


def test_a_new_journey_after_a_run_remembers_the_sends_before_the_window(scenario, tmp_path):
    scenario.run(SECOND_START)
    candidate = tmp_path / "follow-up.yaml"
    candidate.write_text(NEW_JOURNEY)

    simulated = assert_simulation_equals_a_real_run(
        scenario, candidate, SECOND_START, END, "follow-up")

    assert simulated["in_force"] is None
    assert any(rule.startswith("cap.") for rule in simulated["candidate"]["by_reason"])


def test_a_message_deferred_before_the_window_is_decided_in_it(scenario, tmp_path):
    # At 02:00 the SMS thanking C2 for the 22:30 purchase waits for 08:00 (quiet hours);
    # sent at 08:00, it takes C2's SMS slot of the day before the new journey's 09:00 one.
    start = "2026-03-11T02:00:30+00:00"
    scenario.ok("ingest", str(write_jsonl(tmp_path / "more.jsonl", purchase(
        "p5b", "2026-03-11T09:00:00+00:00", "C2"))))
    scenario.run(start)
    candidate = tmp_path / "follow-up.yaml"
    candidate.write_text(NEW_JOURNEY)

    simulated = assert_simulation_equals_a_real_run(
        scenario, candidate, start, END, "follow-up")

    assert simulated["candidate"]["by_reason"].get("cap.daily") or (
        simulated["candidate"]["by_reason"].get("cap.weekly"))


def test_the_text_table_shows_both_versions_and_the_difference(scenario, tmp_path):
    candidate = tmp_path / "after-purchase.yaml"
    candidate.write_text(WAITS_AND_CAPS)

    result = scenario.ok("simulate", str(candidate), "--from", PEOPLE[0]["at"], "--to", END)

    header = result.out.splitlines()[1]
    assert "candidate v2" in header and "in force v1" in header and "difference" in header
    assert re.search(r"reason cap.weekly .* weekly frequency cap reached", result.out)
    assert "goals reached" in result.out


# --- PostgreSQL, and bad input ----------------------------------------------------------------

@pytest.mark.postgres
def test_postgresql_gives_the_same_answer_as_sqlite(cli, tmp_path, postgres_url):
    answers = []
    for url in (f"sqlite:///{tmp_path / 'store.db'}", postgres_url):
        world = JourneyWorld(cli, url, tmp_path)
        store = CliStore(cli, url, world.templates, tmp_path)
        store.ok("ingest", str(write_jsonl(tmp_path / "people.jsonl", *PEOPLE, *BEFORE,
                                           *WINDOW)))
        world.publish(THANKS_ON_PURCHASE, "in-force.yaml")
        candidate = tmp_path / "candidate.yaml"
        candidate.write_text(WAITS_AND_CAPS)
        answers.append(store.simulate(candidate, PEOPLE[0]["at"], END))
    assert answers[0] == answers[1]
    assert answers[0]["candidate"]["messages"] > 0


def test_an_invalid_file_is_refused_with_its_line_and_nothing_written(scenario, tmp_path):
    candidate = tmp_path / "broken.yaml"
    candidate.write_text(WAITS_AND_CAPS.replace("wait: 2h", "wait: soon"))
    before = fingerprint(scenario.url)

    result = scenario("simulate", str(candidate), "--from", PEOPLE[0]["at"], "--to", END)

    assert result.code == 2
    assert f"{candidate}:" in result.err and ":" in result.err.split(f"{candidate}:")[1]
    assert fingerprint(scenario.url) == before


def test_from_after_to_is_a_usage_error(scenario, tmp_path):
    candidate = tmp_path / "after-purchase.yaml"
    candidate.write_text(WAITS_AND_CAPS)

    result = scenario("simulate", str(candidate), "--from", END, "--to", PEOPLE[0]["at"])

    assert result.code == 2
    assert "is after --to" in result.err


def test_an_archived_journey_is_refused_as_publish_refuses_it(scenario, tmp_path):
    scenario.ok("journeys", "archive", "after-purchase", "--actor", "ana")
    candidate = tmp_path / "after-purchase.yaml"
    candidate.write_text(WAITS_AND_CAPS)

    result = scenario("simulate", str(candidate), "--from", PEOPLE[0]["at"], "--to", END)

    assert result.code == 2
    assert "archived" in result.err
