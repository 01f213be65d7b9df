"""The common patterns of docs/journeys.md behave as the reference says, run end to end
through the CLI on a simulated clock (the YAML is read from the reference itself)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from tests.journeys_support import JourneyWorld
from tests.support import consent, contact, purchase

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "journeys.md"
D0 = datetime.fromisoformat("2026-03-02T10:00:00+00:00")


def documented(journey_id: str) -> str:
    for block in re.findall(r"^```yaml\n(.*?)^```", REFERENCE.read_text(encoding="utf-8"),
                            re.DOTALL | re.MULTILINE):
        if re.search(rf"^journey: {re.escape(journey_id)}$", block, re.MULTILINE):
            return block
    raise AssertionError(f"{journey_id} is not in docs/journeys.md")


def at(days: float) -> str:
    return (D0 + timedelta(days=days)).isoformat()


def test_win_back_after_inactivity_counts_sixty_days_from_the_last_purchase(
        cli, sqlite_url, tmp_path):
    world = JourneyWorld(cli, sqlite_url, tmp_path)
    world.publish(documented("win-back").replace("template: miss_you", "template: thanks"))
    world.ingest(contact("c1", at(0), "C1", email="one@example.com"),
                 consent("g1", at(0), "C1"),
                 contact("c2", at(0), "C2", email="two@example.com"),
                 consent("g2", at(0), "C2"),
                 purchase("p1", at(1), "C1"), purchase("p2", at(31), "C1"),
                 purchase("p3", at(1), "C2"))
    world.run(at(120))

    sent = {(m["contact"], m["at"][:10]) for m in world.messages()
            if m["journey"] == "win-back" and m["status"] == "sent"}
    # C2 bought once: sixty days later. C1 came back on day 31: sixty days after that,
    # and nothing on day 61.
    assert sent == {("C2", at(61)[:10]), ("C1", at(91)[:10])}
