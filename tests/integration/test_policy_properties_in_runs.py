"""Properties of whole runs: for random histories, what the policy decided holds up.

- no message with audience segment, or with a contact, is ever on the public channel;
- no private message goes out without the matching consent at decision time;
- replaying the same history in a fresh store re-derives exactly the recorded decisions.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import run_cli
from tests.journeys_support import JourneyWorld
from tests.support import consent, contact, purchase

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
JOURNEYS = {
    "buyers.yaml": """
journey: buyers
trigger: {on: purchase.recorded}
reentry: 2d
steps:
  - id: thanks
    send: {intent: relationship, template: thanks}
  - id: pause
    wait: 1d
  - id: offer
    send: {intent: relationship, template: offer, audience: segment}
""",
    "weekly.yaml": """
journey: weekly
trigger: {schedule: "0 9 * * MON", timezone: Europe/London}
steps:
  - id: post
    send: {intent: activation, template: spot}
  - id: leak
    send: {intent: reach, template: spot, audience: segment}
  - id: note
    send: {intent: relationship, template: note}
""",
}

events = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 14 * 24),
                            st.sampled_from(["buy", "email+", "email-", "sms+", "stop"])),
                  max_size=14)


def touchpoints(history):
    lines = []
    for n in range(3):
        lines.append(contact(f"c{n}", T0.isoformat(), contact=f"C{n}",
                             email=f"c{n}@example.com", phone=f"+4477009000{n}",
                             timezone="Europe/London"))
    for i, (who, hours, kind) in enumerate(history):
        at = (T0 + timedelta(hours=hours)).isoformat()
        key = f"C{who}"
        if kind == "buy":
            lines.append(purchase(f"t{i}", at, contact=key))
        elif kind == "stop":
            lines.append({"id": f"t{i}", "type": "sms.inbound", "at": at,
                          "phone": f"+4477009000{who}", "body": "STOP"})
        else:
            lines.append(consent(f"t{i}", at, contact=key, channel=kind[:-1],
                                 granted=kind.endswith("+")))
    return lines


def run_world(folder: Path, history) -> tuple[list[dict], JourneyWorld]:
    world = JourneyWorld(run_cli, f"sqlite:///{folder / 'store.db'}", folder)
    for name, text in JOURNEYS.items():
        world.publish(text, name)
    world.ingest(*touchpoints(history))
    world.run((T0 + timedelta(days=16)).isoformat())
    decided = [e for e in world.events("ChannelChosen") + world.events("MessageSuppressed")
               + world.events("MessageDeferred") + world.events("ReviewRequested")]
    return sorted(decided, key=lambda e: (e["message"], e["version"])), world


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=events)
def test_decisions_hold_up_and_replay_identically(history):
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        decided, world = run_world(Path(one), history)
        replayed, _ = run_world(Path(two), history)
        messages = {m["id"]: m for m in world.messages()}
        scheduled = {e["message"]: e for e in world.events("MessageScheduled")}

        strip = ("position", "stream", "recorded_at")
        assert [{k: v for k, v in d.items() if k not in strip} for d in decided] == [
            {k: v for k, v in d.items() if k not in strip} for d in replayed]
        for decision in decided:
            origin = scheduled[decision["message"]]
            if decision["channel"] == "social" and decision["status"] == "scheduled":
                assert origin["audience"] != "segment"
                assert messages[decision["message"]]["contact"] is None
            if decision["status"] == "scheduled" and decision["channel"] in ("email", "sms",
                                                                             "mail"):
                chain = json.loads(world.run_cli("audit", "why", decision["message"],
                                                 "--json").out)
                consents = {(c["channel"], c["purpose"]): c["status"]
                            for c in chain["contact_at_decision"]["consents"]}
                assert consents.get((decision["channel"], "marketing")) == "granted"
