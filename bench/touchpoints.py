"""The bench's synthetic touchpoints, shared by its sections."""

from __future__ import annotations

import json
from pathlib import Path


def write_touchpoints(path: Path, count: int) -> None:
    """Touchpoints shaped like the demo's mix: contacts, purchases, consents, mentions."""
    with path.open("w") as out:
        for i in range(count):
            contact = f"C{i // 4:07d}"
            at = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:{i % 60:02d}:00+00:00"
            kind = i % 4
            if kind == 0:
                line = {"id": f"b{i}", "type": "contact.upserted", "at": at, "contact": contact,
                        "kind": "customer", "email": f"p{i}@example.com",
                        "phone": f"+44770{i:07d}", "timezone": "Europe/London"}
            elif kind == 1:
                line = {"id": f"b{i}", "type": "purchase.recorded", "at": at,
                        "contact": contact, "amount": 12.5, "currency": "GBP", "sku": "SKU-1"}
            elif kind == 2:
                line = {"id": f"b{i}", "type": "consent.granted", "at": at, "contact": contact,
                        "channel": "email", "purpose": "marketing", "source": "web_form"}
            else:
                line = {"id": f"b{i}", "type": "social.mention", "at": at,
                        "network": "mastodon", "handle": f"@h{i}", "text": "Great service!",
                        "stance": "positive"}
            out.write(json.dumps(line) + "\n")
