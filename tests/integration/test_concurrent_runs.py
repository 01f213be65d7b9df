"""Two or three `run --until` at once on one store send every message exactly once: each
message is claimed before it is handed to a channel, and a lost race is a clean skip."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests.journeys_support import THANKS_ON_PURCHASE, JourneyWorld
from tests.support import consent, contact, purchase, write_jsonl

AT = "2026-03-02T10:00:00+00:00"
CONTACTS = 1000


@pytest.mark.parametrize("runs", [2, 3])
def test_concurrent_runs_send_each_message_once(cli, store_url, tmp_path, runs):
    world = JourneyWorld(cli, store_url, tmp_path)
    world.publish(THANKS_ON_PURCHASE)
    lines = []
    for n in range(CONTACTS):
        key = f"C{n:04d}"
        lines += [contact(f"c{n}", AT, contact=key, email=f"{key.lower()}@example.com"),
                  consent(f"g{n}", AT, contact=key), purchase(f"p{n}", AT, contact=key)]
    assert world.run_cli("ingest", str(write_jsonl(tmp_path / "t.jsonl", *lines))).code == 0

    command = [sys.executable, "-m", "orchestrator.cli", "--store", store_url, "--templates",
               str(world.templates), "run", "--until", "2026-03-03T00:00:00+00:00"]
    processes = [subprocess.Popen([*command, "--outbox", str(tmp_path / f"outbox{i}")],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(runs)]
    outputs = [process.communicate(timeout=300) for process in processes]

    failures = [err for p, (_, err) in zip(processes, outputs, strict=True) if p.returncode]
    assert failures == [], "\n".join(err[-3000:] for err in failures)
    assert not any("Traceback" in err for _, err in outputs)
    written = [path.stem for i in range(runs)
               if (tmp_path / f"outbox{i}" / "email").exists()
               for path in (tmp_path / f"outbox{i}" / "email").iterdir()]
    assert len(written) == CONTACTS and len(set(written)) == CONTACTS
    messages = json.loads(world.run_cli("messages", "--json").out)
    assert len(messages) == CONTACTS
    assert {m["status"] for m in messages} == {"sent"}
    assert sorted(m["id"] for m in messages) == sorted(written)
    sent_facts = world.events("MessageSent")
    assert len(sent_facts) == CONTACTS  # one outcome recorded per message, not one per run
    # The engine's facts were recorded once: the losers re-ran from the winner's clock.
    assert len(world.events("ContactEnrolled")) == CONTACTS
    assert len(world.events("MessageScheduled")) == CONTACTS
