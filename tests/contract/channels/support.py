"""Helpers for the channel tests: messages of each kind, a fixed clock, and readers
that turn what a dry-run adapter wrote back into plain data."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from orchestrator.channels.message import InReplyTo, OutboundMessage

SENT_AT = datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("Europe/London"))
POSTAL_ADDRESS = "The shop, 1 High Street, London N1 1AA, United Kingdom"
UNSUBSCRIBE_URL = "https://shop.example/unsubscribe/m-1?token=abc&list=news"
ADA_ADDRESS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
               "postcode": "SW1Y 4JH", "country": "GB"}


def fixed_clock() -> datetime:
    return SENT_AT


def message(channel: str, message_id: str = "m-1", **overrides: Any) -> OutboundMessage:
    """A valid message for ``channel``; ``overrides`` replace any field."""
    fields: dict[str, Any] = {
        "email": {"contact_key": "C1", "to_address": "ada@example.com",
                  "subject": "Thank you, Ada", "text": "Hello Ada, thanks for your order.",
                  "html": "<html><body><p>Hello Ada, thanks for your order.</p></body></html>",
                  "unsubscribe_url": UNSUBSCRIBE_URL, "sender_postal_address": POSTAL_ADDRESS},
        "sms": {"contact_key": "C1", "to_address": "+447700900123",
                "text": "The shop: thanks for your order, Ada! Reply STOP to opt out."},
        "mail": {"contact_key": "C1", "to_address": ADA_ADDRESS,
                 "html": "<html><body><p>Dear Ada, thank you.</p></body></html>"},
        "social": {"text": "Monday spotlight at the shop: come and have a look.",
                   "in_reply_to": None},
    }[channel]
    fields.update(overrides)
    return OutboundMessage(message_id=message_id, channel=channel, **fields)


def reply(message_id: str = "m-1", status_id: str = "109876") -> OutboundMessage:
    return message("social", message_id, text="Thank you for the kind words!",
                   in_reply_to=InReplyTo(network="mastodon", status_id=status_id))


def read_eml(path: Path) -> EmailMessage:
    with open(path, "rb") as file:
        return BytesParser(policy=policy.default).parse(file)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_batch(mail_folder: Path) -> list[dict[str, str]]:
    path = mail_folder / "batch.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def eml_text(email: EmailMessage) -> str:
    """Every header and every body part, as one text."""
    headers = "\n".join(f"{name}: {value}" for name, value in email.items())
    parts = [part.get_content() for part in email.walk() if not part.is_multipart()]
    return headers + "\n" + "\n".join(parts)
