"""The policy's memory for one contact (failover in a worker, a reviewer's approval) is
read from that contact's own messages, and holds for it exactly what a memory folded from
every decision in the log holds (docs/workers.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.journeys_support import JourneyWorld
from tests.support import consent, contact, purchase

from orchestrator.application.contact_memory import contact_policy_memory
from orchestrator.campaigns.runtime.decisions import REMEMBERED, PolicyMemory
from orchestrator.store import Store
from orchestrator.store.reader import read_log

START = datetime(2026, 3, 2, 10, tzinfo=UTC)
THANKS_EACH_TIME = """
journey: thanks-each-time
trigger: {on: purchase.recorded}
reentry: 1h
steps:
  - id: thanks
    send: {intent: relationship, template: thanks}
"""
SERVICE_NOTE = """
journey: receipts
trigger: {on: purchase.recorded}
reentry: 1h
steps:
  - id: receipt
    send: {intent: service, template: thanks}
"""


def test_a_contacts_memory_is_the_whole_logs_memory_for_that_contact(cli, store_url,
                                                                      tmp_path):
    world = JourneyWorld(cli, store_url, tmp_path)
    world.publish(THANKS_EACH_TIME)
    world.publish(SERVICE_NOTE)
    at = START.isoformat()
    people = [line for key in ("A", "B") for line in (
        contact(f"c{key}", at, key, email=f"{key.lower()}@example.com"),
        consent(f"g{key}", at, key))]
    # Purchases hours apart: some thank-yous go out, the caps defer or suppress others.
    buys = [purchase(f"p{n}", (START + timedelta(hours=3 * n)).isoformat(), "AB"[n % 2])
            for n in range(12)]
    world.ingest(*people, *buys)
    world.run((START + timedelta(days=3)).isoformat())

    with Store.open(store_url) as store:
        everything = PolicyMemory()
        for recorded in read_log(store, only=REMEMBERED):
            everything.remember(recorded.event)
        mine = contact_policy_memory(store, "A")

    assert len(everything.sends["A"]) >= 2 and everything.sends["B"]
    assert sorted(mine.sends["A"]) == sorted(everything.sends["A"])
    assert "B" not in mine.sends
    service = {m for m, s in everything.scheduled.items() if s.intent == "service"}
    assert service and not service & set(mine.scheduled)  # the caps count marketing only
