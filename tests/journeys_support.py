"""Helpers for journey tests: a templates folder, journey files, runs and messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

TEMPLATES = {
    "thanks": {"email.subject.txt": "Thank you", "email.txt": "Thanks for your order.",
               "sms.txt": "Thanks for your order."},
    "offer": {"email.subject.txt": "For you", "email.txt": "A bundle for you."},
    "spot": {"social.txt": "This week in the shop."},
    "reply": {"social.txt": "Thank you for the kind words!"},
    "note": {"email.txt": "A note for our regulars.", "letter.html": "<p>Hello</p>"},
}

# Journeys many tests use as they are.
THANKS_ON_PURCHASE = """
journey: after-purchase
trigger: {on: purchase.recorded}
steps:
  - id: hello
    send: {intent: relationship, template: thanks}
"""
PUBLIC_MENTION_REPLY = """
journey: replies
trigger: {on: social.mention}
steps:
  - id: reply
    send: {intent: showcase, template: reply}
"""
# Two messages a buyer, two days apart (workers and status tests: per-contact order).
TWO_NOTES = """
journey: two-notes
trigger: {on: purchase.recorded}
steps:
  - id: hello
    send: {intent: relationship, template: thanks}
  - id: pause
    wait: 2d
  - id: later
    send: {intent: relationship, template: offer}
"""


class JourneyWorld:
    def __init__(self, cli, store_url: str, folder: Path):
        self.cli = cli
        self.url = store_url
        self.folder = folder
        self.templates = folder / "templates"
        for name, files in TEMPLATES.items():
            (self.templates / name).mkdir(parents=True, exist_ok=True)
            for file, text in files.items():
                (self.templates / name / file).write_text(text)
        self.counter = 0
        self.outbox = folder / "outbox"

    def run_cli(self, *args: str):
        return self.cli("--store", self.url, "--templates", str(self.templates), *args)

    def publish(self, yaml_text: str, name: str | None = None) -> None:
        self.counter += 1
        path = self.folder / (name or f"journey{self.counter}.yaml")
        path.write_text(yaml_text)
        result = self.run_cli("journeys", "publish", str(path))
        assert result.code == 0, result.err

    def ingest(self, *touchpoints: dict) -> None:
        self.counter += 1
        path = self.folder / f"t{self.counter}.jsonl"
        path.write_text("".join(json.dumps(t) + "\n" for t in touchpoints))
        result = self.run_cli("ingest", str(path))
        assert result.code == 0, result.err

    def run(self, until: str) -> str:
        result = self.run_cli("run", "--until", until, "--outbox", str(self.outbox))
        # Exit 1 exactly when the run reports failed messages.
        failed = sum(int(n.replace(",", "")) for n in
                     re.findall(r"([\d,]+) failed,", result.out))
        assert result.code == (1 if failed else 0), (result.out, result.err)
        return result.out

    def messages(self, contact: str | None = None) -> list[dict]:
        args = ["messages", "--json"] + (["--contact", contact] if contact else [])
        result = self.run_cli(*args)
        assert result.code == 0, result.err
        return json.loads(result.out)

    def sent_steps(self, contact: str | None = None) -> list[tuple]:
        return [(m["contact"], m["journey"], m["version"], m["step"], m["at"])
                for m in self.messages(contact)]

    def events(self, type_name: str) -> list[dict]:
        result = self.run_cli("audit", "export")
        lines = [json.loads(line) for line in result.out.splitlines()]
        return [line for line in lines if line["type"] == type_name]
