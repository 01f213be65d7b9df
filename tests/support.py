"""Helpers shared by the tests: touchpoint builders and export reading."""

from __future__ import annotations

from pathlib import Path


def write_jsonl(path: Path, *records: dict | str) -> Path:
    import json
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(record if isinstance(record, str) else json.dumps(record))
            out.write("\n")
    return path


def contact(tid: str, at: str, contact: str = "C1", **fields) -> dict:
    return {"id": tid, "type": "contact.upserted", "at": at, "contact": contact,
            "kind": "customer", **fields}


def purchase(tid: str, at: str, contact: str = "C1", amount: float = 10) -> dict:
    return {"id": tid, "type": "purchase.recorded", "at": at, "contact": contact,
            "amount": amount, "currency": "EUR"}


def consent(tid: str, at: str, contact: str = "C1", channel: str = "email",
            purpose: str = "marketing", granted: bool = True) -> dict:
    return {"id": tid, "type": "consent.granted" if granted else "consent.withdrawn",
            "at": at, "contact": contact, "channel": channel, "purpose": purpose,
            "source": "web_form"}


def export_lines(cli_runner, url: str) -> list[dict]:
    import json
    result = cli_runner("--store", url, "audit", "export", "--format", "jsonl")
    assert result.code == 0, result.err
    return [json.loads(line) for line in result.out.splitlines()]
