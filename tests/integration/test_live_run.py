"""`orchestrator run` without --until: the live service advances to the wall clock."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from tests.journeys_support import JourneyWorld
from tests.support import consent, contact, purchase

JOURNEY = """
journey: thanks-now
trigger: {on: purchase.recorded}
steps:
  - id: thanks
    send: {intent: relationship, template: thanks}
"""


def test_the_live_service_sends_what_is_due_and_stops_cleanly(cli, sqlite_url, tmp_path):
    world = JourneyWorld(cli, sqlite_url, tmp_path)
    world.publish(JOURNEY)
    recent = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    world.ingest(contact("c", recent, email="live@example.com"), consent("g", recent),
                 purchase("p", recent))
    service = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "--store", sqlite_url, "--templates",
         str(world.templates), "run", "--every", "1", "--outbox", str(world.outbox)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (world.outbox / "email").exists():
            time.sleep(0.2)
    finally:
        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=30)

    assert service.returncode == 0, err
    assert "live: advancing journeys every 1 s" in out and "live: stopped" in out
    [message] = json.loads(cli("--store", sqlite_url, "messages", "--json").out)
    assert (message["status"], message["channel"]) == ("sent", "email")
    assert len(list((world.outbox / "email").iterdir())) == 1
